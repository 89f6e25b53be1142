// Progressive enhancement for the rubric editor and delete buttons. Everything works without it.
(function () {
  "use strict";
  // Ask before destructive buttons that carry a data-confirm message.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  var editor = document.getElementById("rubric-editor");
  if (!editor) {
    return;
  }
  var dirty = false;
  var submitting = false;
  editor.addEventListener("input", function () {
    dirty = true;
    editor.classList.add("is-dirty");
  });
  editor.addEventListener("submit", function (event) {
    submitting = true;
    var action = event.submitter && event.submitter.value || "";
    if (action.indexOf("remove_") === 0 && !window.confirm("Remove it with its descriptors?")) {
      event.preventDefault();
      submitting = false;
    }
  });
  // Warn before leaving the page with unsaved descriptors.
  window.addEventListener("beforeunload", function (event) {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
