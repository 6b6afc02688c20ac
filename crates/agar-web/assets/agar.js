// agar view: the little the pages need from script. Everything works without
// it (sorting and filtering are links and forms served by the viewer); this
// file adds citation scroll-and-highlight, filters that apply on change,
// the reviewer's name remembered across forms, and live reload.
"use strict";

(function () {
  // --- Citations: scroll to the cited message and mark the quoted text. ---

  function clearMarks() {
    document.querySelectorAll("mark.cited").forEach(function (m) {
      var parent = m.parentNode;
      while (m.firstChild) parent.insertBefore(m.firstChild, m);
      parent.removeChild(m);
      parent.normalize();
    });
    document.querySelectorAll(".msg.highlight").forEach(function (el) {
      el.classList.remove("highlight");
    });
    document.querySelectorAll("a.cite.active").forEach(function (a) {
      a.classList.remove("active");
    });
  }

  // Wraps the text between UTF-16 offsets [start, end) of `root` in <mark>s.
  function markRange(root, start, end) {
    var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    var pos = 0;
    var pieces = [];
    var node;
    while ((node = walker.nextNode())) {
      var len = node.data.length;
      var a = Math.max(start, pos);
      var b = Math.min(end, pos + len);
      if (a < b) pieces.push([node, a - pos, b - pos]);
      pos += len;
      if (pos >= end) break;
    }
    var first = null;
    pieces.forEach(function (p) {
      var range = document.createRange();
      range.setStart(p[0], p[1]);
      range.setEnd(p[0], p[2]);
      var mark = document.createElement("mark");
      mark.className = "cited";
      range.surroundContents(mark);
      if (!first) first = mark;
    });
    return first;
  }

  function showCitation(link) {
    var msg = document.getElementById(link.dataset.msg);
    if (!msg) return false;
    clearMarks();
    link.classList.add("active");
    msg.classList.add("highlight");
    var target = msg;
    var content = msg.querySelector(".content");
    if (content && link.dataset.start !== undefined) {
      var mark = markRange(content, Number(link.dataset.start), Number(link.dataset.end));
      if (mark) target = mark;
    }
    target.scrollIntoView({ block: "center" });
    return true;
  }

  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a.cite");
    if (!link || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    // A message on another branch needs that branch's page: follow the link.
    if (!document.getElementById(link.dataset.msg)) return;
    ev.preventDefault();
    if (showCitation(link)) {
      var url = new URL(link.href, location.href);
      history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
  });

  function citationFromUrl() {
    var id = new URLSearchParams(location.search).get("cite");
    if (!id) return;
    var link = document.querySelector('a.cite[data-cite="' + CSS.escape(id) + '"]');
    if (link) showCitation(link);
  }

  // --- Filters apply as soon as a choice changes. ---

  function autoSubmit() {
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () {
        el.form.submit();
      });
    });
  }

  // --- The reviewer's name, remembered in this browser. ---

  function reviewerName() {
    var key = "agar.reviewer";
    var saved = "";
    try {
      saved = localStorage.getItem(key) || "";
    } catch (e) {
      return;
    }
    document.querySelectorAll("input.reviewer").forEach(function (input) {
      if (!input.value && saved) input.value = saved;
      input.addEventListener("change", function () {
        try {
          localStorage.setItem(key, input.value);
        } catch (e) {
          /* storage unavailable: nothing to remember */
        }
      });
    });
  }

  // --- Live: reload when the store changes under this page. ---

  function poll() {
    var body = document.body;
    var url = body.dataset.poll;
    if (!url) return;
    var stamp = body.dataset.stamp;
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      // Never reload under a reviewer who is typing a note.
      var active = document.activeElement;
      if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA")) return;
      busy = true;
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(function (data) {
          if (data && data.stamp && data.stamp !== stamp) location.reload();
        })
        .catch(function () {
          /* the viewer stopped: keep the page as it is */
        })
        .finally(function () {
          busy = false;
        });
    }, 2500);
  }

  function start() {
    citationFromUrl();
    autoSubmit();
    reviewerName();
    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
