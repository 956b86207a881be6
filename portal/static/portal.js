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

  // A choice that carries its promise (a department's reply time) shows it once, by the
  // form's button; without this script the page shows it after the form is sent back.
  document.querySelectorAll("[data-promise-of]").forEach(function (promise) {
    var name = promise.getAttribute("data-promise-of");
    var form = promise.closest("form");
    if (!form) {
      return;
    }
    form.addEventListener("change", function (event) {
      var choice = event.target;
      if (choice.name === name && choice.checked && choice.dataset.promise) {
        promise.textContent = choice.dataset.promise;
      }
    });
  });

  // Bring a form's error summary into view and focus, so screen readers announce it.
  var summary = document.querySelector("[data-focus]");
  if (summary) {
    summary.focus();
  }
})();
