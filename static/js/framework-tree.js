// Progressive enhancement for a framework's tree: opening a branch fetches it in place, and
// "Show more" appends the next page. Without this script the same links lead to pages of their own.
(function () {
  "use strict";
  function fetchInto(url, placeholder) {
    placeholder.setAttribute("aria-busy", "true");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var parent = placeholder.parentNode;
        while (holder.firstChild) {
          parent.insertBefore(holder.firstChild, placeholder);
        }
        parent.removeChild(placeholder);
      })
      .catch(function () {
        // Keep the link: it still leads to the branch's own page.
        placeholder.removeAttribute("aria-busy");
      });
  }
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.matches || !details.matches("details.branch[data-fragment]") || !details.open) {
      return;
    }
    var placeholder = details.querySelector(":scope > .branch-link");
    if (placeholder && !details.hasAttribute("data-loaded")) {
      details.setAttribute("data-loaded", "");
      fetchInto(details.getAttribute("data-fragment"), placeholder);
    }
  }, true);
  document.addEventListener("click", function (event) {
    var link = event.target.closest(".branch-more a[data-fragment]");
    if (!link) {
      return;
    }
    event.preventDefault();
    fetchInto(link.getAttribute("data-fragment"), link.parentNode);
  });
})();
