// The editor pages' script: live character counts under every suggested
// text, removing a variant, and buttons that need JavaScript. The share
// preview itself is refreshed by htmx. No inline script anywhere (CSP).
(function () {
  "use strict";

  var X_LINK = 23; // as intranet_plugin.sharing.X_LINK_LENGTH: X counts every link as 23

  // As intranet_plugin.sharing.caption_length (server-side checks use that).
  function postLength(network, text) {
    if (network === "x") return text.length + (text.length ? 1 : 0) + X_LINK;
    return text.length;
  }

  function updateCounters(textarea) {
    var field = textarea.closest(".field");
    if (!field) return;
    // The server strips surrounding spaces before it counts; so do we.
    var text = textarea.value.trim().replace(/\r\n/g, "\n");
    field.querySelectorAll("[data-counter]").forEach(function (counter) {
      var used = postLength(counter.dataset.counter, text);
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
