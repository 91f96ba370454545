// Live preview client, added to pages by `taskmon-site serve` only.
//
// Speaks the LiveReload protocol (version 7) over /livereload, announcing the
// taskmon-preview plugin so the server also pushes the build state: a page
// whose build is not the one being served reloads, a failed build shows an
// overlay over the last good page. User-visible words come from data-labels:
// the theme's strings.toml (preview_* keys) per language, put there by serve.py.
(function () {
  "use strict";

  var PROTOCOL = "http://livereload.com/protocols/official-7";
  var FIRST_RETRY_MS = 200;
  var MAX_RETRY_MS = 1000;
  var SHOWN_PATHS = 3;

  var script = document.currentScript;
  var pageBuild = script.dataset.build;
  var plugin = script.dataset.plugin;
  var labels = pickLabels(JSON.parse(script.dataset.labels || "{}"));
  var retryMs = FIRST_RETRY_MS;
  var reloading = false;
  var ui = createUi();

  connect();

  function pickLabels(all) {
    var lang = (document.documentElement.lang || "en").toLowerCase().split("-")[0];
    return all[lang] || all.en || {};
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/livereload");
    socket.onopen = function () {
      send(socket, { command: "hello", protocols: [PROTOCOL] });
    };
    socket.onmessage = function (event) {
      handle(socket, JSON.parse(event.data));
    };
    socket.onclose = function () {
      showState("reconnecting");
      // Back off a little, but stay quick: a restarted server builds first.
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };
  }

  function send(socket, message) {
    socket.send(JSON.stringify(message));
  }

  function handle(socket, message) {
    if (message.command === "hello") {
      retryMs = FIRST_RETRY_MS;
      var plugins = {};
      plugins[plugin] = { version: "1" };
      send(socket, { command: "info", url: location.href, plugins: plugins });
      showState("connected");
    } else if (message.command === "reload") {
      reload();
    } else if (message.command === "alert") {
      showError({ message: message.message });
    } else if (message.command === "taskmon-status") {
      applyStatus(message.status);
    }
  }

  function applyStatus(status) {
    // A different build means this page is stale: a save while the page was
    // loading, or a server restart while it was open.
    if (status.build !== pageBuild) {
      reload();
      return;
    }
    showState(status.building ? "building" : "connected");
    if (status.error) {
      showError(status.error, status.changed, status.serving);
    } else {
      clearError();
    }
  }

  function reload() {
    if (!reloading) {
      reloading = true;
      location.reload();
    }
  }

  // -- the indicator and the overlay, in a shadow root so site CSS stays out --

  function createUi() {
    var host = document.createElement("taskmon-preview");
    var root = host.attachShadow({ mode: "open" });
    var css = el("link", { rel: "stylesheet", href: "/_taskmon/preview.css" });
    var overlay = el("section", { id: "overlay", role: "alert", hidden: "" });
    var indicator = el("div", { id: "indicator", role: "status" });
    var state = el("span", { id: "state" });
    var refresh = el("button", { id: "refresh", type: "button", title: labels.refresh });
    refresh.textContent = "↻";
    refresh.setAttribute("aria-label", labels.refresh);
    refresh.onclick = function () { location.reload(); };
    indicator.append(el("span", { id: "dot" }), state, refresh);
    root.append(css, overlay, indicator);
    document.body.appendChild(host);
    return { indicator: indicator, state: state, overlay: overlay };
  }

  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    return node;
  }

  function showState(name) {
    ui.indicator.dataset.state = name;
    ui.state.textContent = labels[name] || name;
  }

  function showError(error, changed, serving) {
    var overlay = ui.overlay;
    overlay.replaceChildren();
    var title = el("h2", {});
    title.textContent = labels.failed;
    overlay.append(title);
    if (error.file) {
      var file = el("p", { id: "file" });
      file.textContent = error.file + (error.line ? ":" + error.line : "");
      overlay.append(file);
    }
    var message = el("pre", { id: "message" });
    message.textContent = error.message;
    overlay.append(message);
    if (changed && changed.length) {
      var after = el("p", { id: "changed" });
      after.textContent = labels.changed + ": " + collapse(changed);
      overlay.append(after);
    }
    if (serving) {
      var note = el("p", { id: "note" });
      note.textContent = labels.serving;
      overlay.append(note);
    }
    var dismiss = el("button", { id: "dismiss", type: "button" });
    dismiss.textContent = labels.dismiss;
    dismiss.onclick = clearError;
    overlay.append(dismiss);
    overlay.hidden = false;
  }

  function collapse(paths) {
    var shown = paths.slice(0, SHOWN_PATHS).join(", ");
    var more = paths.length - SHOWN_PATHS;
    return more > 0 ? shown + " " + labels.more.replace("{n}", more) : shown;
  }

  function clearError() {
    ui.overlay.hidden = true;
    ui.overlay.replaceChildren();
  }
})();
