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

  // The library: an action's answer replaces the item's row, which takes the
  // focused button with it. Focus goes back to the same place in the new
  // row (Pin becomes Unpin), or to the status message when the row has no
  // button left there.
  var lastAction = null;
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var row = ev.detail.elt.closest && ev.detail.elt.closest(".row-actions");
    if (!row) return;
    var forms = Array.prototype.slice.call(row.querySelectorAll("form"));
    lastAction = { row: row.closest("tr").id, index: forms.indexOf(ev.detail.elt.closest("form")) };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!lastAction) return;
    var row = document.getElementById(lastAction.row);
    var buttons = row ? row.querySelectorAll(".row-actions button") : [];
    var target = buttons[Math.min(lastAction.index, buttons.length - 1)] || document.getElementById("library-status");
    lastAction = null;
    if (target) target.focus();
  });

  // The item form: a message about filling in from the page belongs to the
  // address it was about; typing another address takes it away.
  document.addEventListener("input", function (ev) {
    if (ev.target.id !== "f-url") return;
    document.querySelectorAll("[data-prefill-message]").forEach(function (message) { message.remove(); });
  });

  // After a refused save the error summary takes the focus, so that the
  // keyboard and a screen reader start at what needs correcting.
  function focusErrors() {
    var summary = document.querySelector(".form-errors[tabindex]");
    if (summary) summary.focus();
  }

  // New content from htmx (an added variant, a prefilled fieldset).
  document.addEventListener("htmx:load", function (ev) { enhance(ev.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(document); focusErrors(); });
  } else {
    enhance(document);
    focusErrors();
  }
})();
