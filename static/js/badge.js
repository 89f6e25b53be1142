// Copy-link buttons on badge pages (no inline script: the CSP allows only our files). The
// result is said in the status line next to the button (data-status names it), and on the
// button itself for a moment.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) {
      return;
    }
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      var status = document.getElementById(button.getAttribute("data-status") || "") ||
        document.querySelector(".copy-status");
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
        if (status) { status.textContent = "Link copied. Paste it anywhere to share your badge."; }
        button.textContent = "Copied ✓";
        window.setTimeout(function () { button.textContent = label; }, 3000);
      }, function () {
        if (status) { status.textContent = "Could not copy; select the link and copy it yourself."; }
      });
    });
  });
}());
