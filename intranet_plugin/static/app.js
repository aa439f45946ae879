// Ambassador's own script: small enhancements on top of plain links and
// forms. Everything works without it; no inline script anywhere (CSP).
(function () {
  "use strict";

  // With this script the narrow-screen menu folds behind its button
  // (app.css); without it the menu stays open.
  document.documentElement.classList.add("js");

  function toast(message) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.classList.add("show");
    clearTimeout(el._timer);
    el._timer = setTimeout(function () { el.classList.remove("show"); }, 3500);
  }

  // How many characters a post uses on a network: the server's rule
  // (intranet_plugin.content.sharing.caption_length, which explains it),
  // applied with the patterns and lengths the server puts in
  // <body data-caption-rules>. Code points of the NFC text, not UTF-16
  // units: an emoji is one character. The editor's script uses it too.
  var rules = null;

  function captionLength(network, caption) {
    rules = rules || JSON.parse(document.body.dataset.captionRules);
    var text = caption.replace(new RegExp(rules.spaces, "gu"), "").replace(/\r\n/g, "\n").normalize("NFC");
    var linkLength = (rules.networks[network] || {}).link_length;
    if (!linkLength) return Array.from(text).length;
    var links = 0;
    var rest = text.replace(new RegExp(rules.link, "gu"), function () { links += 1; return ""; });
    // The text's own links, then a space and the tracked link the share adds.
    return Array.from(rest).length + links * linkLength + (text ? 1 : 0) + linkLength;
  }

  window.Ambassador = { captionLength: captionLength };

  function updateCounters(textarea) {
    var card = textarea.closest("[data-item]");
    card.querySelectorAll("[data-counter]").forEach(function (counter) {
      var used = captionLength(counter.dataset.counter, textarea.value);
      counter.querySelector("b").textContent = used;
      counter.classList.toggle("over", used > Number(counter.dataset.limit));
    });
  }

  function markShared(card) {
    var state = card.querySelector(".state");
    // Ask the server: the badge shows only a share it has recorded.
    if (state && window.htmx) setTimeout(function () { htmx.trigger(state, "ambassador:shared"); }, 1200);
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return Promise.reject(new Error("no clipboard"));
  }

  // Leave empty filters out of htmx requests, so pushed URLs stay clean.
  document.addEventListener("htmx:configRequest", function (ev) {
    var params = ev.detail.parameters;
    if (ev.detail.verb !== "get" || !params) return;
    Object.keys(params).forEach(function (key) { if (params[key] === "") delete params[key]; });
  });

  // An action the server refuses answers 409 with what to show instead (the
  // editor's row with the reason); htmx swaps only 2xx answers by itself.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    if (ev.detail.xhr.status === 409) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  // The page's language follows what htmx swaps in: the server names it
  // in Content-Language (intranet_plugin.i18n), and <html lang> tells
  // screen readers how to pronounce the page.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var lang = ev.detail.xhr && ev.detail.xhr.getResponseHeader("Content-Language");
    if (lang && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(lang)) document.documentElement.lang = lang;
  });

  // The menu button of narrow screens; Escape closes the open menu.
  function setMenu(toggle, open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var toggle = document.querySelector(".menu-toggle[aria-expanded=true]");
    if (!toggle) return;
    setMenu(toggle, false);
    toggle.focus();
  });

  document.addEventListener("input", function (ev) {
    if (ev.target.matches("textarea[data-caption]")) updateCounters(ev.target);
  });

  document.addEventListener("click", function (ev) {
    var toggle = ev.target.closest(".menu-toggle");
    if (toggle) setMenu(toggle, toggle.getAttribute("aria-expanded") !== "true");
  });

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("a[data-share-network]");
    if (!button) return;
    var card = button.closest("[data-item]");
    var textarea = card && card.querySelector("textarea[data-caption]");
    var caption = textarea ? textarea.value.trim() : "";
    var network = button.dataset.shareNetwork;
    var texts = document.body.dataset;

    if (network === "link") {
      ev.preventDefault();
      fetch(button.href, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (url) { return copy(url).then(function () { toast(texts.msgLinkCopied); }, function () { window.prompt(texts.msgCopyThis, url); }); })
        .then(function () { markShared(card); })
        .catch(function () { window.location = button.href; });
      return;
    }
    var href = new URL(button.href, window.location.href);
    if (button.dataset.takesText === "true" && textarea && caption !== textarea.defaultValue.trim()) {
      href.searchParams.set("text", caption);
      button.href = href.toString();
    }
    if (button.dataset.takesText === "false" && caption) {
      // LinkedIn, Facebook and XING take only the link: the text goes to the
      // clipboard so the person can paste it into the post.
      copy(caption).then(function () { toast(texts.msgCaptionCopied); }, function () {});
    }
    markShared(card);
  });
})();
