// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // A double tap on a slow connection must not send a form twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted === "true") {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    window.setTimeout(function () { form.dataset.submitted = "false"; }, 8000);
  });

  // Bring a form's error summary into view and focus, so screen readers announce it.
  var summary = document.querySelector("[data-focus]");
  if (summary) {
    summary.focus();
  }
})();
