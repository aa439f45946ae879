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
    var spec = rules.networks[network] || {};
    var linkLength = spec.link_length;
    if (!linkLength) return units(spec, text);
    var links = 0;
    var rest = text.replace(new RegExp(rules.link, "gu"), function () { links += 1; return ""; });
    // The text's own links, then a space and the tracked link the share adds.
    return units(spec, rest) + links * linkLength + (text ? 1 : 0) + linkLength;
  }

  // Code points, or grapheme clusters where the network counts those (Bluesky).
  var graphemes = null;
  function units(spec, text) {
    if (spec.count === "graphemes" && window.Intl && Intl.Segmenter) {
      graphemes = graphemes || new Intl.Segmenter(undefined, { granularity: "grapheme" });
      return Array.from(graphemes.segment(text)).length;
    }
    return Array.from(text).length;
  }

  // Warnings about a post's text: the server's rule (content.sharing.
  // text_warnings, which explains it), applied with the disclosure and
  // the words to avoid the card carries. [[kind, term], ...]
  var WORD_CHAR = /[\p{L}\p{N}_]/u;

  function contains(text, term) {
    text = text.normalize("NFC").toLowerCase();
    term = term.normalize("NFC").toLowerCase();
    if (!term) return false;
    for (var start = text.indexOf(term); start >= 0; start = text.indexOf(term, start + 1)) {
      var end = start + term.length;
      var before = start ? Array.from(text.slice(0, start)).pop() : "";
      var after = end < text.length ? String.fromCodePoint(text.codePointAt(end)) : "";
      if (!(before && (WORD_CHAR.test(before) || before === "#")) && !(after && WORD_CHAR.test(after))) return true;
    }
    return false;
  }

  function textWarnings(text, disclosure, avoid) {
    var warnings = [];
    if (disclosure && !contains(text, disclosure)) warnings.push(["disclosure", disclosure]);
    avoid.forEach(function (word) { if (contains(text, word)) warnings.push(["avoid", word]); });
    return warnings;
  }

  window.Ambassador = { captionLength: captionLength, textWarnings: textWarnings };

  // A box's warnings, redrawn as the person types; they never stop a share.
  function updateWarnings(post, text) {
    var box = post.querySelector("[data-text-warnings]");
    if (!box) return;
    var d = box.dataset;
    var warnings = textWarnings(text, d.disclosure, JSON.parse(d.avoid));
    box.replaceChildren();
    if (!warnings.length) return;
    var p = document.createElement("p");
    p.className = "warning";
    warnings.forEach(function (w) {
      var span = document.createElement("span");
      span.textContent = (w[0] === "disclosure" ? d.msgDisclosure : d.msgAvoid).replace("%W", function () { return w[1]; });
      p.append(span, " ");
    });
    var link = document.createElement("a");
    link.href = d.guidelinesHref;
    link.textContent = d.msgGuidelines;
    p.append(link);
    box.append(p);
  }

  // -- the share card: one text box per group of networks that receive
  // the same text (rendered by the server, content.sharing.post_texts) --

  // A box's counters, and its buttons refused (with the reason shown)
  // while the text is over their network's limit.
  function updatePost(post) {
    var area = post.querySelector("textarea[data-caption]");
    updateWarnings(post, area.value);
    post.querySelectorAll("[data-counter]").forEach(function (counter) {
      var network = counter.dataset.counter;
      var used = captionLength(network, area.value);
      var over = used > Number(counter.dataset.limit);
      counter.querySelector("b").textContent = used;
      counter.classList.toggle("over", over);
      var button = post.querySelector('a[data-share-network="' + network + '"]');
      var note = post.querySelector('[data-too-long="' + network + '"]');
      if (button && over) button.setAttribute("aria-disabled", "true");
      if (button && !over) button.removeAttribute("aria-disabled");
      if (note) {
        note.hidden = !over;
        note.textContent = over ? note.dataset.message.replace("%U", used) : "";
      }
    });
  }

  // The person's own text goes to every network: every box of the card
  // takes it, and each box checks it against its networks' limits.
  function carryEdit(area) {
    var card = area.closest("[data-item]");
    card.querySelectorAll("textarea[data-caption]").forEach(function (other) {
      if (other !== area) other.value = area.value;
      updatePost(other.closest("[data-post]"));
    });
    card.classList.add("edited");
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
    if (ev.target.matches("textarea[data-caption]")) carryEdit(ev.target);
  });

  document.addEventListener("change", function (ev) {
    if (ev.target.matches("select[data-variant]")) {
      // Another of the editor's suggestions, for this box's networks only.
      var post = ev.target.closest("[data-post]");
      post.querySelector("textarea[data-caption]").value = ev.target.value;
      updatePost(post);
    }
  });

  // "Show more": focus goes to the first new card, where reading goes on.
  var showingMore = false;
  document.addEventListener("htmx:beforeRequest", function (ev) {
    showingMore = /^more-/.test(ev.detail.elt.id || "");
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!showingMore) return;
    showingMore = false;
    var first = document.querySelector("#results [data-first-new]");
    if (!first) return;
    first.removeAttribute("data-first-new");
    (first.querySelector("h2 a") || first).focus();
  });

  // The two steps for a network whose post opens empty: the text is
  // copied, the dialog says so, and the person opens the network from it.
  function pasteDialog(button, href, text, card) {
    var dialog = document.getElementById("paste-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      href.searchParams.delete("copied");  // the server's page shows the two steps
      window.open(href.toString(), "_blank", "noopener");
      return;
    }
    var open = dialog.querySelector("[data-open]");
    var network = button.dataset.shareNetwork;
    open.href = href.toString();
    open.textContent = dialog.getAttribute("data-open-" + network) || button.textContent;
    dialog.querySelector("[data-paste-text]").value = text;
    dialog._card = card;
    function show(copied) {
      dialog.querySelectorAll("[data-copied]").forEach(function (el) { el.hidden = !copied; });
      dialog.querySelectorAll("[data-not-copied]").forEach(function (el) { el.hidden = copied; });
      dialog.setAttribute("aria-labelledby", copied ? "paste-dialog-title" : "paste-dialog-retry");
      if (!dialog.open) dialog.showModal();
      open.focus();
      if (!copied) dialog.querySelector("[data-paste-text]").select();
    }
    copy(text).then(function () { show(true); }, function () { show(false); });
  }

  document.addEventListener("click", function (ev) {
    var dialog = ev.target.closest("#paste-dialog");
    if (!dialog) return;
    if (ev.target.closest("[data-open]")) {
      // The link opens the network in a new tab by itself.
      setTimeout(function () { dialog.close(); }, 0);
      if (dialog._card) markShared(dialog._card);
    } else if (ev.target.closest("[data-close]")) {
      dialog.close();
    }
  });

  // The phone's share sheet: its button shows only where the browser has one.
  function showDeviceShare(root) {
    if (typeof navigator.share !== "function") return;
    root.querySelectorAll('a[data-share-network="device"]').forEach(function (button) { button.hidden = false; });
  }
  showDeviceShare(document);
  document.addEventListener("htmx:load", function (ev) { showDeviceShare(ev.detail.elt); });

  // The printable QR page's button.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // The landing page of a share from the digest (share/paste.html).
  document.querySelectorAll("[data-copy-text]").forEach(function (button) { button.hidden = false; });
  document.addEventListener("click", function (ev) {
    var trigger = ev.target.closest("[data-copy-text], a[data-open-after-copy]");
    if (!trigger) return;
    var page = trigger.closest(".paste-page");
    var status = page.querySelector("[data-copy-status]");
    var link = trigger.matches("a") ? trigger : null;
    if (link) ev.preventDefault();
    copy(page.querySelector("[data-paste-text]").value).then(function () {
      status.textContent = status.dataset.done;
    }, function () {
      page.querySelector("[data-paste-text]").select();
    }).then(function () { if (link) window.location = link.href; });
  });

  document.addEventListener("click", function (ev) {
    var toggle = ev.target.closest(".menu-toggle");
    if (toggle) setMenu(toggle, toggle.getAttribute("aria-expanded") !== "true");
  });

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("a[data-share-network]");
    if (!button) return;
    var card = button.closest("[data-item]");
    var network = button.dataset.shareNetwork;
    var texts = document.body.dataset;
    if (button.hasAttribute("data-needs-server")) return;  // the preferences page asks for it

    if (network === "device") {
      // The server records the share and gives the tracked link; the
      // system's share sheet gets the text shown and that link.
      ev.preventDefault();
      var sheetArea = card.querySelector("textarea[data-caption]");
      fetch(button.href, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (url) { return navigator.share({ text: sheetArea ? sheetArea.value : "", url: url }); })
        .then(function () { markShared(card); }, function (err) {
          if (err && err.name === "AbortError") { markShared(card); return; }  // recorded; the sheet was closed
          window.location = button.href;
        });
      return;
    }

    if (network === "link") {
      ev.preventDefault();
      fetch(button.href, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (url) { return copy(url).then(function () { toast(texts.msgLinkCopied); }, function () { window.prompt(texts.msgCopyThis, url); }); })
        .then(function () { markShared(card); })
        .catch(function () { window.location = button.href; });
      return;
    }
    if (button.closest("#paste-dialog, .paste-page")) return;
    var post = button.closest("[data-post]");
    var area = post && post.querySelector("textarea[data-caption]");
    if (button.getAttribute("aria-disabled") === "true") {
      // Over the network's limit: the reason is shown by the text box.
      ev.preventDefault();
      if (area) area.focus();
      return;
    }
    // The text shown goes out: the server sends the first suggestion by
    // itself, anything else (another suggestion, an edit) goes along.
    var text = area ? area.value : "";
    var href = new URL(button.href, window.location.href);
    href.searchParams.delete("text");
    if (area && text !== area.defaultValue) href.searchParams.set("text", text);
    if (button.dataset.takesText === "false") {
      ev.preventDefault();
      href.searchParams.set("copied", "1");
      pasteDialog(button, href, text, card);
      return;
    }
    button.href = href.toString();
    // Should LinkedIn's composer ever ignore the text, it can be pasted.
    if (network === "linkedin") copy(text).catch(function () {});
    markShared(card);
  });
})();
