// The editor pages' script: live character counts under every suggested
// text, removing a variant, and buttons that need JavaScript. The share
// preview itself is refreshed by htmx. No inline script anywhere (CSP).
(function () {
  "use strict";

  function updateCounters(textarea) {
    var field = textarea.closest(".field");
    if (!field) return;
    field.querySelectorAll("[data-counter]").forEach(function (counter) {
      // The share page's counter (app.js): the server's rule.
      var used = window.Ambassador.captionLength(counter.dataset.counter, textarea.value);
      counter.querySelector("b").textContent = used;
      counter.classList.toggle("over", used > Number(counter.dataset.limit));
    });
  }

  function enhance(root) {
    root.querySelectorAll("[data-remove-variant][hidden]").forEach(function (button) {
      button.hidden = false;
    });
    root.querySelectorAll("textarea[data-counted]").forEach(updateCounters);
  }

  document.addEventListener("input", function (ev) {
    if (ev.target.matches("textarea[data-counted]")) updateCounters(ev.target);
  });

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-remove-variant]");
    if (!button) return;
    var variant = button.closest(".variant");
    var form = button.closest("form");
    var list = variant.parentNode;
    if (list.querySelectorAll(".variant").length > 1) {
      variant.remove();
    } else {
      // The last field stays, empty: an empty text is no variant.
      var textarea = variant.querySelector("textarea");
      textarea.value = "";
      updateCounters(textarea);
    }
    // The live preview listens for input on the form.
    if (form) form.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // New content from htmx (an added variant, a prefilled fieldset).
  document.addEventListener("htmx:load", function (ev) { enhance(ev.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  } else {
    enhance(document);
  }
})();
