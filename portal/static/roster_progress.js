// A roster import's page while the worker reads or writes it: the progress is read again
// every few seconds and updated in place. The page is never reloaded (a timed reload takes
// a screen reader back to the top, WCAG 2.2.1): once the worker has finished its step, a
// status message says so, with a link to the page as it is now. Without this file, the
// page's own link shows the progress on demand.
(function () {
  "use strict";

  var section = document.querySelector("[data-progress]");
  if (!section || !window.fetch || !window.DOMParser) {
    return;
  }
  var state = section.querySelector("[data-progress-state]");
  var finished = section.querySelector("[data-progress-finished]");
  var message = section.querySelector("template[data-progress-message]");
  var delay = (Number(section.getAttribute("data-progress")) || 5) * 1000;

  function readAgain() {
    window.fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected) {
          return null; // signed out: the page's link leads to signing in again
        }
        if (!response.ok) {
          throw new Error("the portal did not answer");
        }
        return response.text();
      })
      .then(function (html) {
        if (html === null) {
          return;
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector("[data-progress] [data-progress-state]");
        if (fresh) {
          state.replaceWith(document.importNode(fresh, true));
          state = section.querySelector("[data-progress-state]");
          window.setTimeout(readAgain, delay);
        } else {
          finished.appendChild(document.importNode(message.content, true));
        }
      })
      .catch(function () {
        // The portal or the network is away for a moment: try again, less often.
        window.setTimeout(readAgain, delay * 3);
      });
  }

  window.setTimeout(readAgain, delay);
})();
