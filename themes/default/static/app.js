// taskmon-site: a small progressive layer. Every page works without it.
//
// Every word it shows comes from the page's #taskmon-ui block (strings.toml);
// task data comes from assets/data.js, a script rather than fetched JSON, so
// the site works from file:// as well as from any static host. This file holds
// what every page needs (theme, keyboard, read marks, search); views.js adds
// the dashboard, list and board behaviour and uses window.TaskmonApp.
(function () {
  "use strict";

  var ui = readUi();
  var root = document.body.getAttribute("data-root") || "";
  var siteUrl = new URL(root || "./", location.href);
  var store = makeStore("taskmon:" + siteUrl.pathname);
  var marks = makeMarks();

  function readUi() {
    var el = document.getElementById("taskmon-ui");
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return { strings: {}, labels: {}, statuses: [], roles: [] };
    }
  }

  /** A UI string with its {placeholders} filled in. */
  function t(key, values) {
    var text = ui.strings[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function label(id) {
    return ui.labels[id] || id;
  }

  // localStorage can be missing or full; the site then forgets between visits.
  function makeStore(prefix) {
    var memory = {};
    return {
      get: function (key, fallback) {
        var raw;
        try { raw = localStorage.getItem(prefix + ":" + key); } catch (e) { raw = memory[key]; }
        if (raw == null) return fallback;
        try { return JSON.parse(raw); } catch (e) { return fallback; }
      },
      set: function (key, value) {
        var raw = JSON.stringify(value);
        memory[key] = raw;
        try { localStorage.setItem(prefix + ":" + key, raw); } catch (e) { /* kept in memory */ }
      }
    };
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text != null) node.textContent = text;
    return node;
  }

  // -- read marks -----------------------------------------------------------------
  //
  // A task is new when the `updated` value remembered from the last time its page
  // was opened differs from the current one; a task never opened is new when it
  // was updated after the first visit (or the last "mark all read").

  function makeMarks() {
    var seen = store.get("seen", {});
    var since = store.get("since", null);
    if (since == null) {
      since = builtAtEpoch();
      store.set("since", since);
    }
    function changed() {
      store.set("seen", seen);
    }
    return {
      isNew: function (url, stamp, updated) {
        if (Object.prototype.hasOwnProperty.call(seen, url)) return seen[url] !== stamp;
        return updated != null && updated > since;
      },
      wasOpened: function (url) { return Object.prototype.hasOwnProperty.call(seen, url); },
      read: function (url, stamp) { seen[url] = stamp; changed(); },
      // Moves the baseline to the build time; only tasks dated after it (clocks
      // differ, dates get mistyped) need a remembered value of their own.
      readAll: function (records) {
        since = Math.max(since, builtAtEpoch());
        seen = {};
        records.forEach(function (r) {
          if (r.updated != null && r.updated > since) seen[r.url] = r.stamp;
        });
        store.set("since", since);
        changed();
      }
    };
  }

  function builtAtEpoch() {
    var info = window.TASKMON_BUILD;
    var when = info ? Date.parse(info.builtAt) : NaN;
    return isNaN(when) ? Math.floor(Date.now() / 1000) : Math.floor(when / 1000);
  }

  /** A small "new" badge that marks the task read when pressed. */
  function newMark(url, stamp, onRead) {
    var button = el("button", { type: "button", "class": "new-mark", title: t("mark_read"),
      "aria-label": t("new") + " – " + t("mark_read"), "data-new-mark": "" }, t("new"));
    button.addEventListener("click", function (event) {
      event.preventDefault();
      marks.read(url, stamp);
      if (onRead) onRead();
    });
    return button;
  }

  function markTaskPage() {
    var article = document.querySelector("article.task[data-url]");
    if (!article) return;
    var url = article.getAttribute("data-url");
    var stamp = article.getAttribute("data-stamp");
    var notice = article.querySelector("[data-updated-notice]");
    if (notice && marks.wasOpened(url) && marks.isNew(url, stamp, null)) notice.hidden = false;
    marks.read(url, stamp);
  }

  // -- relative ages --------------------------------------------------------------

  function age(epochSeconds) {
    var minutes = Math.max(0, Math.floor((Date.now() / 1000 - epochSeconds) / 60));
    if (minutes < 1) return t("just_now");
    if (minutes < 60) return t("unit_minute", { n: minutes });
    if (minutes < 1440) return t("unit_hour", { n: Math.floor(minutes / 60) });
    return t("unit_day", { n: Math.floor(minutes / 1440) });
  }

  /** "3 d ago", but "just now" on its own (not "just now ago"). */
  function ago(epochSeconds) {
    var text = age(epochSeconds);
    return text === t("just_now") ? text : t("ago", { t: text });
  }

  // -- theme ----------------------------------------------------------------------

  // Three modes: "auto" follows the system (nothing stored), "dark" and "light" are
  // remembered. A press goes from auto to the other scheme, then to the system's, then
  // back to auto, so every press but the last changes what is seen.
  function setupTheme() {
    var button = document.querySelector("[data-theme-toggle]");
    var html = document.documentElement;
    var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
    if (!button) return;
    function mode() {
      return html.classList.contains("dark") ? "dark" :
        html.classList.contains("light") ? "light" : "auto";
    }
    function following(current) {
      var system = media && media.matches ? "dark" : "light";
      var other = system === "dark" ? "light" : "dark";
      return current === "auto" ? other : current === other ? system : "auto";
    }
    function name(which) {
      if (which === "auto") return button.getAttribute("data-auto");
      return which === "dark" ? t("theme_dark") : t("theme_light");
    }
    function show() {
      var current = mode();
      var text = button.getAttribute("data-label").replace("{mode}", name(current))
        .replace("{next}", name(following(current)));
      button.setAttribute("data-mode", current);
      button.setAttribute("aria-label", text);
      button.title = text;
    }
    button.addEventListener("click", function () {
      var next = following(mode());
      html.classList.remove("dark", "light");
      if (next !== "auto") html.classList.add(next);
      try {
        if (next === "auto") localStorage.removeItem("taskmon:theme");
        else localStorage.setItem("taskmon:theme", next);
      } catch (e) { /* not remembered */ }
      show();
    });
    if (media && media.addEventListener) media.addEventListener("change", show);
    show();
  }

  // -- keyboard -------------------------------------------------------------------

  // "/" goes to the site search on every page; "f" to the filter of the list or board.
  function setupKeyboard() {
    var keys = { "/": "#site-search", f: "[data-filters] input[name=q]" };
    document.addEventListener("keydown", function (event) {
      var selector = keys[event.key];
      if (!selector || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
      var field = document.querySelector(selector);
      if (!field) return;
      event.preventDefault();
      field.focus();
      field.select();
    });
  }

  // -- search ---------------------------------------------------------------------
  //
  // Served over http, the Pagefind index in pagefind/ answers (Chinese included);
  // opened from disk, a browser refuses to load it, so the box says so and offers
  // matches in task and doc titles from data.js instead.

  function setupSearch() {
    var box = document.querySelector("[data-search]");
    if (!box) return;
    var input = box.querySelector("input");
    var panel = box.querySelector(".search-results");
    var fromDisk = location.protocol === "file:";
    var pagefind = null;
    var timer = 0;
    var generation = 0;
    // The query whose results the panel shows, and whether Enter waits for them.
    var answered = null;
    var openFirst = false;
    var reopenOnFocus = true;

    function open(nodes, query) {
      panel.replaceChildren.apply(panel, nodes);
      panel.hidden = false;
      input.setAttribute("aria-expanded", "true");
      answered = query == null ? null : query;
      if (answered != null && openFirst) {
        openFirst = false;
        goToFirst();
      }
    }
    function goToFirst() {
      var first = panel.querySelector("a[href]");
      if (first) location.href = first.href;
    }
    function close() {
      panel.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }
    function note(key) { return el("p", { "class": "muted" }, t(key)); }

    function run() {
      var query = input.value.trim();
      var mine = ++generation;
      if (!query) return close();
      if (fromDisk) {
        return titleMatches(query, function (list) {
          if (mine === generation) open([note("search_needs_http")].concat(list), query);
        });
      }
      open([note("search_loading")]);
      loadPagefind().then(function (found) {
        return found.pf.search(query).then(function (search) {
          return current(search.results, found.superseded);
        });
      }).then(function (results) {
        if (mine !== generation) return;
        open(results.length ? [resultList(results)] : [note("search_no_results")], query);
      }, function () {
        titleMatches(query, function (list) {
          if (mine === generation) open([note("search_no_index")].concat(list), query);
        });
      });
    }

    // The index comes in bundles (pagefind/0/, 1/, …) that Pagefind merges, and a
    // delta bundle with the pages changed since their bundle was indexed: its copy of
    // such a page (found under delta/) is the one to show, and pages removed since
    // are left out. bundles.json says which.
    function loadPagefind() {
      if (!pagefind) {
        var base = new URL(root + "pagefind/", location.href).href;
        var options = { baseUrl: siteUrl.pathname };
        pagefind = fetch(base + "bundles.json").then(function (response) {
          if (!response.ok) throw new Error("no search index");
          return response.json();
        }).then(function (info) {
          return import(base + "0/pagefind.js").then(function (pf) {
            return Promise.resolve(pf.options(options)).then(function () {
              var merges = [];
              for (var i = 1; i < info.bundles; i++) {
                merges.push(pf.mergeIndex(base + i + "/", options));
              }
              if ((info.delta || []).length) merges.push(pf.mergeIndex(base + "delta/", options));
              return Promise.all(merges);
            }).then(function () { return pf.init(); }).then(function () {
              var superseded = {};
              (info.delta || []).concat(info.removed || []).forEach(function (url) {
                superseded[siteUrl.pathname + url] = true;
              });
              return { pf: pf, superseded: superseded };
            });
          });
        });
        pagefind.catch(function () { pagefind = null; });
      }
      return pagefind;
    }

    /** The first ten results that are current: delta copies at their own URLs. */
    function current(results, superseded) {
      var delta = siteUrl.pathname + "delta/";
      return Promise.all(results.slice(0, 30).map(function (r) { return r.data(); }))
        .then(function (found) {
          return found.filter(function (r) {
            if (r.url.indexOf(delta) === 0) {
              r.url = siteUrl.pathname + r.url.slice(delta.length);
              return true;
            }
            return !superseded[r.url.split("#")[0]];
          }).slice(0, 10);
        });
    }

    input.addEventListener("input", function () {
      openFirst = false;
      clearTimeout(timer);
      timer = setTimeout(run, 120);
    });
    input.addEventListener("focus", function () {
      if (reopenOnFocus && input.value.trim()) run();
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { close(); input.blur(); }
      if (event.key === "ArrowDown") { moveSelection(panel, 1); event.preventDefault(); }
      if (event.key === "Enter" && input.value.trim()) {
        event.preventDefault();
        if (!panel.hidden && answered === input.value.trim()) return goToFirst();
        openFirst = true;
        clearTimeout(timer);
        run();
      }
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        moveSelection(panel, event.key === "ArrowDown" ? 1 : -1);
        event.preventDefault();
      } else if (event.key === "Escape") {
        close();
        reopenOnFocus = false;
        input.focus();
        reopenOnFocus = true;
      }
    });
    document.addEventListener("click", function (event) {
      if (!box.contains(event.target)) close();
    });
  }

  function moveSelection(panel, step) {
    var links = Array.prototype.slice.call(panel.querySelectorAll("a"));
    if (!links.length) return;
    var at = links.indexOf(document.activeElement);
    var next = links[Math.max(0, Math.min(links.length - 1, at + step))];
    links.forEach(function (a) { a.removeAttribute("aria-selected"); });
    next.setAttribute("aria-selected", "true");
    next.focus();
  }

  function resultList(results) {
    var list = el("ul");
    results.forEach(function (r) {
      var link = el("a", { href: r.url });
      link.appendChild(el("span", { "class": "result-title" }, r.meta.title || r.url));
      if (r.meta.kind) link.appendChild(el("span", { "class": "result-kind" }, r.meta.kind));
      var excerpt = el("span", { "class": "result-excerpt" });
      appendMarked(excerpt, r.excerpt || "");
      link.appendChild(excerpt);
      var item = el("li");
      item.appendChild(link);
      list.appendChild(item);
    });
    return list;
  }

  /** Pagefind's excerpt as text nodes, keeping only its <mark> highlights. */
  function appendMarked(parent, html) {
    var decoder = document.createElement("textarea");
    html.split(/(<mark>|<\/mark>)/).reduce(function (inMark, part) {
      if (part === "<mark>") return true;
      if (part === "</mark>") return false;
      decoder.innerHTML = part.replace(/</g, "&lt;");
      var text = document.createTextNode(decoder.value);
      if (inMark) {
        var mark = el("mark");
        mark.appendChild(text);
        parent.appendChild(mark);
      } else {
        parent.appendChild(text);
      }
      return inMark;
    }, false);
  }

  /** Tasks and docs whose title (or id) holds every word of *query*, from data.js. */
  function titleMatches(query, done) {
    withData(function (data) {
      var words = query.toLowerCase().split(/\s+/).filter(Boolean);
      var hits = [];
      var has = function (text) {
        text = text.toLowerCase();
        return words.every(function (w) { return text.indexOf(w) !== -1; });
      };
      var f = fieldIndex(data);
      for (var i = 0; i < data.tasks.length && hits.length < 10; i++) {
        var task = data.tasks[i];
        if (has(task[f.id] + " " + task[f.title])) {
          hits.push({ url: task[f.url], title: task[f.title], kind: t("kind_task") });
        }
      }
      data.docs.forEach(function (doc) {
        if (hits.length < 15 && has(doc[1] + " " + doc[2])) {
          hits.push({ url: doc[0], title: doc[1], kind: t("kind_doc") });
        }
      });
      if (!hits.length) return done([el("p", { "class": "muted" }, t("search_no_results"))]);
      var list = el("ul");
      hits.forEach(function (hit) {
        var link = el("a", { href: root + hit.url });
        link.appendChild(el("span", { "class": "result-title" }, hit.title));
        link.appendChild(el("span", { "class": "result-kind" }, hit.kind));
        var item = el("li");
        item.appendChild(link);
        list.appendChild(item);
      });
      done([el("p", { "class": "muted small" }, t("search_title_matches")), list]);
    });
  }

  /** Call *fn* with window.TASKMON_DATA, loading assets/data.js once if the page has not.
   *  Until data.js sets it, the name may stand for an element of the page with that id. */
  function withData(fn) {
    var data = window.TASKMON_DATA;
    if (data && Array.isArray(data.fields)) return fn(data);
    var script = document.querySelector("script[data-taskmon-data]");
    if (!script) {
      script = el("script", { src: root + "assets/data.js", "data-taskmon-data": "" });
      document.body.appendChild(script);
    }
    script.addEventListener("load", function () { fn(window.TASKMON_DATA); });
  }

  function fieldIndex(data) {
    var index = {};
    data.fields.forEach(function (name, i) { index[name] = i; });
    return index;
  }

  // -- small page touches ----------------------------------------------------------

  function showBuildTime() {
    var info = window.TASKMON_BUILD;
    if (!info) return;
    document.querySelectorAll("[data-built-at]").forEach(function (node) {
      node.textContent = info.builtAt.replace("T", " ").replace(/\.\d+/, "");
      node.setAttribute("datetime", info.builtAt);
    });
    document.querySelectorAll("[data-problem-count]").forEach(function (node) {
      node.textContent = String(info.problems || "");
      node.hidden = !info.problems;
    });
  }

  /** Boxes that scroll sideways fade at an edge that has more behind it. */
  function setupScrollHints() {
    var boxes = document.querySelectorAll("[data-scroll-hint]");
    function update(box) {
      var rest = box.scrollWidth - box.clientWidth - box.scrollLeft;
      box.classList.toggle("more-left", box.scrollLeft > 1);
      box.classList.toggle("more-right", rest > 1);
    }
    boxes.forEach(function (box) {
      box.addEventListener("scroll", function () { update(box); }, { passive: true });
      if (window.ResizeObserver) new ResizeObserver(function () { update(box); }).observe(box);
      update(box);
    });
    // The board's content changes with its filters.
    document.addEventListener("taskmon:rendered", function () { boxes.forEach(update); });
  }

  /** Checklist boxes in task and doc bodies are named by their item's text. */
  function labelChecklists() {
    document.querySelectorAll(".task-list-item-checkbox:not([aria-label])").forEach(function (box) {
      var item = box.closest("li").cloneNode(true);
      item.querySelectorAll("ul, ol").forEach(function (list) { list.remove(); });
      box.setAttribute("aria-label", item.textContent.trim());
    });
  }

  function markCurrentDoc() {
    var layout = document.querySelector("[data-doc-url]");
    if (!layout) return;
    var url = layout.getAttribute("data-doc-url");
    layout.querySelectorAll(".doc-nav a[data-url]").forEach(function (a) {
      if (a.getAttribute("data-url") === url) a.setAttribute("aria-current", "page");
    });
  }

  window.TaskmonApp = {
    ui: ui, t: t, label: label, root: root, store: store, marks: marks, el: el,
    newMark: newMark, age: age, ago: ago, fieldIndex: fieldIndex
  };

  showBuildTime();
  markCurrentDoc();
  setupScrollHints();
  labelChecklists();
  setupTheme();
  setupKeyboard();
  setupSearch();
  markTaskPage();
})();
