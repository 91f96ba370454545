// Task actions, added to pages by `taskmon-site serve` only (never to a built site).
//
// Task page: change the status (only to the statuses the lifecycle allows),
// hand off, comment. Task list: a checkbox per row and a bulk status change.
// Board: drag a card to another column to change its status. Every action is a
// POST to the preview's API; the page then updates through the normal live
// reload. Each request says what the page showed of the task ("expect"), so
// the server refuses (409) to change a file that says otherwise by now; the
// page then offers a reload, never a blind resend. The vocabulary, the
// lifecycle and every word shown (the theme's strings.toml, action_* keys, per
// language) come from #taskmon-actions-data.
(function () {
  "use strict";

  var dataEl = document.getElementById("taskmon-actions-data");
  var tokenEl = document.querySelector('meta[name="taskmon-token"]');
  if (!dataEl || !tokenEl) return;
  var DATA = JSON.parse(dataEl.textContent);
  var TOKEN = tokenEl.getAttribute("content");
  var LANG = (document.documentElement.lang || "en").toLowerCase().split("-")[0];
  var S = DATA.strings[LANG] || DATA.strings.en || {};
  var STATUS_IDS = DATA.statuses.map(function (t) { return t.id; });
  var ROLE_IDS = DATA.roles.map(function (t) { return t.id; });
  var notice = null;
  // Where the outcome of a change waits for the live reload it brings.
  var KEPT_NOTICE = "taskmon-notice";

  var kind = document.body.dataset.page;
  showKeptNotice();
  if (kind === "task") setupTaskPage();
  else if (kind === "list") setupList();
  else if (kind === "board") setupBoard();

  // -- words -------------------------------------------------------------------

  function say(key, values) {
    var text = S[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(values[name]);
    });
    return text;
  }

  function label(list, id) {
    var found = list.filter(function (t) { return t.id === id; })[0];
    return found ? (LANG === "zh" ? found.zh : found.en) : id;
  }

  function statusLabel(id) { return label(DATA.statuses, id); }
  function roleLabel(id) { return label(DATA.roles, id); }

  // A value of a task record as written back by the server: its label, else as written.
  function recordLabel(list, id, raw) { return id ? label(list, id) : (raw || "–"); }

  // -- reading the page --------------------------------------------------------

  // The first "<prefix>X" class of an element whose X is a known id.
  function idFromClass(node, prefix, ids) {
    if (!node) return null;
    for (var i = 0; i < node.classList.length; i++) {
      var name = node.classList[i];
      if (name.indexOf(prefix) === 0 && ids.indexOf(name.slice(prefix.length)) !== -1) {
        return name.slice(prefix.length);
      }
    }
    return null;
  }

  function known(value, ids) {
    return ids.indexOf(value) !== -1 ? value : null;
  }

  function allowedFrom(status) {
    return DATA.transitions[status] || [];
  }

  // -- talking to the server -----------------------------------------------------

  function post(path, body) {
    return fetch(DATA.api + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Taskmon-Token": TOKEN },
      body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().catch(function () {
        return { ok: false, error: response.status + " " + response.statusText };
      }).then(function (data) {
        data.httpStatus = response.status;
        return data;
      });
    }, function () {
      return { ok: false, offline: true, error: "offline" };
    });
  }

  // Run an action: show progress, then its outcome. A request that never got an
  // answer (offline, server error) may be sent again as it was: it still says
  // what the page showed, so the server checks it anew. A task that changed
  // meanwhile (409) or a stale token (403) needs the page reloaded instead.
  function run(action, busy) {
    setBusy(busy, true);
    showNotice("pending", say("saving"));
    return action().then(function (reply) {
      setBusy(busy, false);
      if (reply.ok) {
        showNotice("ok", reply.message + " " + say("saved"));
        keepNotice(reply.message);
      } else if (reply.httpStatus === 409 || reply.httpStatus === 403) {
        showNotice("error", failureText(reply), reloadButton());
      } else if (reply.offline || reply.httpStatus >= 500) {
        showNotice("error", failureText(reply), retryButton(function () { run(action, busy); }));
      } else {
        showNotice("error", failureText(reply));
      }
      return reply;
    });
  }

  function retryButton(again) {
    return { action: "retry", text: say("retry"), onclick: again };
  }

  function reloadButton() {
    return { action: "reload", text: say("reload"), onclick: function () { location.reload(); } };
  }

  function setBusy(nodes, on) {
    (nodes || []).forEach(function (node) {
      node.disabled = on;
      node.classList.toggle("taskmon-busy", on);
    });
  }

  function failureText(reply) {
    if (reply.offline) return say("offline");
    if (reply.httpStatus === 409) return say("stale", { error: reply.error });
    if (reply.httpStatus === 403) return say("forbidden", { error: reply.error });
    var text = say("failed", { error: reply.error });
    if (reply.allowed && reply.allowed.length && reply.error.indexOf("allowed:") === -1) {
      text += " " + say("allowed_hint", { allowed: reply.allowed.map(statusLabel).join(", ") });
    }
    return text;
  }

  function taskPath(target, action) {
    return "tasks/" + encodeURIComponent(target) + "/" + action;
  }

  // targets: [{ id: task id or src_uri, shown: what the page showed of it }].
  // The message says what the server wrote, from the records it sends back.
  function changeStatus(targets, status) {
    var single = targets.length === 1;
    var body = single ? { status: status, expect: targets[0].shown } :
      { ids: targets.map(function (t) { return t.id; }), status: status, expect: {} };
    if (!single) targets.forEach(function (t) { body.expect[t.id] = t.shown; });
    return post(single ? taskPath(targets[0].id, "status") : "status", body)
      .then(function (reply) {
        if (reply.ok && single) {
          reply.message = say("status_saved", { id: reply.task.id,
            status: recordLabel(DATA.statuses, reply.task.status, reply.task.status_raw) });
        } else if (reply.ok) {
          var statuses = reply.tasks.map(function (t) {
            return recordLabel(DATA.statuses, t.status, t.status_raw);
          });
          reply.message = say("bulk_saved", { n: reply.tasks.length,
            status: statuses.filter(function (s, i) { return statuses.indexOf(s) === i; })
              .join(", ") });
        }
        return reply;
      });
  }

  // A final status takes no further change in the preview (only `task status --force`
  // undoes it): asked for once more.
  function confirmed(status) {
    if (DATA.final.indexOf(status) === -1) return true;
    return window.confirm(say("confirm_final", { status: statusLabel(status) }));
  }

  // -- the notice ------------------------------------------------------------------

  // The outcome of a change outlives the reload that follows it (the rebuild comes
  // a moment later): kept for this page, shown once after it loads again.
  function keepNotice(text) {
    try {
      sessionStorage.setItem(KEPT_NOTICE, JSON.stringify(
        { text: text, page: location.pathname, at: Date.now() }));
    } catch (e) { /* private mode */ }
  }

  function showKeptNotice() {
    var kept = null;
    try {
      kept = JSON.parse(sessionStorage.getItem(KEPT_NOTICE) || "null");
      sessionStorage.removeItem(KEPT_NOTICE);
    } catch (e) { return; }
    // Only a reload of the same page soon after the change shows it. The change was
    // this reader's own: the task page does not flag it as changed since last opened.
    if (kept && kept.page === location.pathname && Date.now() - kept.at < 60000) {
      showNotice("ok", kept.text + " " + say("updated"));
      var flag = document.querySelector("article.task [data-updated-notice]");
      if (flag) flag.hidden = true;
    }
  }

  // button: { action, text, onclick } for "Retry" or "Reload", when one helps.
  function showNotice(state, text, button) {
    if (!notice) {
      notice = el("div", { id: "taskmon-notice", role: "status", "aria-live": "polite" });
      document.body.appendChild(notice);
    }
    notice.dataset.state = state;
    notice.replaceChildren(el("span", { class: "taskmon-notice-text" }, text));
    if (button) {
      var next = el("button", { type: "button", "data-action": button.action }, button.text);
      next.addEventListener("click", button.onclick);
      notice.appendChild(next);
    }
    if (state !== "pending") {
      var close = el("button", { type: "button", "data-action": "dismiss",
        "aria-label": say("dismiss") }, "×");
      close.addEventListener("click", function () { notice.hidden = true; });
      notice.appendChild(close);
    }
    notice.hidden = false;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // -- the task page ------------------------------------------------------------------

  function setupTaskPage() {
    var article = document.querySelector("article[data-task-id]");
    if (!article) return;
    // The file the page was built from: an id may be in several files.
    var source = document.querySelector('[data-field="source"]');
    var target = { id: (source && source.textContent.trim()) || article.dataset.taskId,
      shown: {} };
    var status = shownField(article, target.shown, "status", "status", "status-", STATUS_IDS);
    var current = shownField(article, target.shown, "current_role", "current", "role-",
      ROLE_IDS);
    var next = shownField(article, target.shown, "next_role", "next", "role-", ROLE_IDS);
    if (article.dataset.stamp !== undefined) target.shown.stamp = article.dataset.stamp;

    var panel = el("section", { class: "taskmon-actions", "aria-label": say("panel") });
    panel.appendChild(statusGroup(target, status));
    panel.appendChild(handoffGroup(target, current, next, status));
    panel.appendChild(commentGroup(target));
    var aside = article.querySelector(".meta-panel");
    if (aside) aside.insertBefore(panel, aside.firstChild);
    else article.insertBefore(panel, article.firstChild);
  }

  // A status or role as the page shows it (an id, or null for none or unknown),
  // noted in *shown* when the page shows that field at all.
  function shownField(article, shown, field, data, prefix, ids) {
    var cell = document.querySelector('[data-field="' + field + '"]');
    if (article.dataset[data] === undefined && !cell) return null;
    var value = known(article.dataset[data], ids) ||
      idFromClass(cell && cell.querySelector("." + prefix.slice(0, -1)), prefix, ids);
    shown[field] = value;
    return value;
  }

  function group(title) {
    var box = el("div", { class: "taskmon-group" });
    box.appendChild(el("h2", { class: "aside-h" }, title));
    return box;
  }

  function statusGroup(target, status) {
    var box = group(say("change_status"));
    // A task without a (known) status may take any status, as taskedit allows.
    var targets = status ? allowedFrom(status) : STATUS_IDS;
    if (!targets.length) {
      box.appendChild(el("p", { class: "muted small" }, say("no_next_status")));
      return box;
    }
    var row = el("div", { class: "taskmon-buttons" });
    targets.forEach(function (to) {
      var button = el("button", { type: "button", "data-status": to,
        class: "taskmon-status-button status status-" + to }, statusLabel(to));
      button.addEventListener("click", function () {
        if (!confirmed(to)) return;
        run(function () { return changeStatus([target], to); }, buttons());
      });
      row.appendChild(button);
    });
    box.appendChild(row);
    function buttons() { return Array.prototype.slice.call(row.querySelectorAll("button")); }
    return box;
  }

  function handoffGroup(target, current, next, status) {
    var box = group(say("hand_off"));
    // The server refuses to hand off a finished task (only the task command can force it).
    if (DATA.final.indexOf(status) !== -1) {
      box.appendChild(el("p", { class: "muted small" }, say("handoff_final")));
      return box;
    }
    var taker = next || (current && DATA.nextRole[current]);
    var then = el("select", { name: "to", "aria-label": say("then_next") });
    // The role taking the task cannot come after itself: not offered.
    ROLE_IDS.filter(function (role) { return role !== taker; }).forEach(function (role) {
      var option = el("option", { value: role }, roleLabel(role));
      option.selected = taker && role === DATA.nextRole[taker];
      then.appendChild(option);
    });
    var button = el("button", { type: "button", "data-action": "handoff" },
      taker ? say("hand_off_to", { role: roleLabel(taker) }) : say("hand_off"));
    button.disabled = !taker;
    button.addEventListener("click", function () {
      var body = { to: then.value, expect: target.shown };
      run(function () {
        return post(taskPath(target.id, "handoff"), body).then(function (reply) {
          if (reply.ok) {
            reply.message = say("handoff_saved_next", { id: reply.task.id,
              role: recordLabel(DATA.roles, reply.task.current_role, reply.task.current_role_raw),
              next: recordLabel(DATA.roles, reply.task.next_role, reply.task.next_role_raw) });
          }
          return reply;
        });
      }, [button, then]);
    });
    var line = el("label", { class: "taskmon-inline" }, say("then_next") + " ");
    line.appendChild(then);
    box.appendChild(button);
    box.appendChild(line);
    return box;
  }

  function commentGroup(target) {
    var box = group(say("comment"));
    var form = el("form", { class: "taskmon-comment" });
    var text = el("textarea", { name: "text", rows: "3", required: "",
      placeholder: say("comment_placeholder"), "aria-label": say("comment") });
    var author = el("input", { name: "author", type: "text", autocomplete: "name",
      placeholder: say("author"), "aria-label": say("author") });
    author.value = remembered("taskmon-author");
    // A draft outlives the reloads that every rebuild (and a refused change) brings.
    var draftKey = "taskmon-draft:" + target.id;
    text.value = drafted(draftKey);
    text.addEventListener("input", function () { draft(draftKey, text.value); });
    var submit = el("button", { type: "submit" }, say("add_comment"));
    form.append(text, author, submit);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!text.value.trim()) return;
      remember("taskmon-author", author.value.trim());
      var body = { text: text.value, author: author.value.trim() || null, expect: target.shown };
      run(function () {
        return post(taskPath(target.id, "comment"), body).then(function (reply) {
          if (reply.ok) {
            reply.message = say("comment_saved", { id: reply.task.id });
            text.value = "";
            draft(draftKey, "");
          }
          return reply;
        });
      }, [submit, text, author]);
    });
    box.appendChild(form);
    return box;
  }

  function remembered(key) {
    try { return localStorage.getItem(key) || ""; } catch (e) { return ""; }
  }

  function remember(key, value) {
    try { localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }

  function drafted(key) {
    try { return sessionStorage.getItem(key) || ""; } catch (e) { return ""; }
  }

  function draft(key, value) {
    try {
      if (value) sessionStorage.setItem(key, value);
      else sessionStorage.removeItem(key);
    } catch (e) { /* private mode */ }
  }

  // -- the task list ------------------------------------------------------------------

  // Rows come and go: views.js keeps only the first matches in the page and
  // renders others when filters, sorting or "show more" ask for them. So the
  // selection is a set of task ids kept here, not the checkboxes' state: every
  // row that shows up gets its checkbox, ticked when its task is selected, and
  // a selected task stays selected (and is changed by "Apply") while filtered
  // out; the bar says how many of the selected tasks are not shown.
  function setupList() {
    var table = document.querySelector("[data-task-table]");
    if (!table || !table.tBodies.length || !table.tHead) return;
    var body = table.tBodies[0];
    var chosen = new Map();  // task id → its status
    var all = el("input", { type: "checkbox", "aria-label": say("select_all") });
    var head = el("th", { scope: "col", class: "taskmon-select" });
    head.appendChild(all);
    table.tHead.rows[0].insertBefore(head, table.tHead.rows[0].firstChild);

    var bar = el("div", { class: "taskmon-bulk", hidden: "" });
    var count = el("span", { class: "taskmon-count" });
    var choice = el("select", { name: "status", "aria-label": say("set_status") });
    var apply = el("button", { type: "button", "data-action": "bulk-status" }, say("apply"));
    var none = el("span", { class: "muted small" }, say("no_common_status"));
    bar.append(count, el("span", {}, say("set_status")), choice, apply, none);
    (table.closest(".table-wrap") || table).before(bar);

    function shown() {
      return Array.prototype.filter.call(body.rows, function (row) {
        return !row.hidden && rowId(row);
      });
    }

    function boxOf(row) {
      var cell = row.querySelector(".taskmon-select");
      if (!cell) {
        cell = el("td", { class: "taskmon-select" });
        cell.appendChild(el("input", { type: "checkbox", "data-task-id": rowId(row),
          "aria-label": say("select_task", { id: rowId(row) }) }));
        row.insertBefore(cell, row.firstChild);
      }
      return cell.querySelector("input");
    }

    function select(row, on) {
      if (on) chosen.set(rowId(row), row.dataset.status);
      else chosen.delete(rowId(row));
    }

    // After each render: a checkbox on every row shown, ticked as selected.
    function sync() {
      var rows = shown();
      rows.forEach(function (row) { boxOf(row).checked = chosen.has(rowId(row)); });
      update(rows);
    }

    function update(rows) {
      bar.hidden = !chosen.size;
      var visible = rows.filter(function (row) { return chosen.has(rowId(row)); }).length;
      count.textContent = say("selected", { n: chosen.size }) +
        (visible < chosen.size ? " " + say("not_shown", { n: chosen.size - visible }) : "");
      // Only statuses every selected task may move to.
      var common = null;
      chosen.forEach(function (status) {
        var allowed = allowedFrom(status);
        common = common === null ? allowed.slice() :
          common.filter(function (s) { return allowed.indexOf(s) !== -1; });
      });
      common = common || [];
      var keep = choice.value;
      choice.replaceChildren.apply(choice, common.map(function (status) {
        return el("option", { value: status }, statusLabel(status));
      }));
      if (common.indexOf(keep) !== -1) choice.value = keep;
      choice.hidden = apply.hidden = !common.length;
      none.hidden = !!common.length;
      all.checked = rows.length > 0 && visible === rows.length;
    }

    all.addEventListener("change", function () {
      shown().forEach(function (row) { select(row, all.checked); });
      sync();
    });
    body.addEventListener("change", function (event) {
      var row = event.target.closest(".taskmon-select") && event.target.closest("tr");
      if (!row) return;
      select(row, event.target.checked);
      sync();
    });
    // views.js announces each render; the observer also catches rows that
    // another script puts in the table without saying so.
    document.addEventListener("taskmon:rendered", sync);
    new MutationObserver(sync).observe(body, { childList: true });
    apply.addEventListener("click", function () {
      // Each task as its row showed it: the status it was selected with.
      var targets = Array.from(chosen.keys()).map(function (id) {
        var seen = chosen.get(id);
        return { id: id, shown: seen === undefined ? {} :
          { status: known(seen, STATUS_IDS) } };
      });
      var status = choice.value;
      if (!confirmed(status)) return;
      run(function () { return changeStatus(targets, status); }, [apply, choice]);
    });
    sync();
  }

  function rowId(row) {
    if (row.dataset.taskId) return row.dataset.taskId;
    var cell = row.querySelector("td.id, td.col-id");
    return cell ? cell.textContent.trim() : "";
  }

  // -- the board --------------------------------------------------------------------------

  // A board whose script announces drops between columns (data-board: the
  // theme's views.js sends "taskmon:status-drop") is used through that; on a
  // plain board, cards are made draggable here.
  function setupBoard() {
    var board = document.querySelector("[data-board]") || document.querySelector(".board");
    if (!board) return;
    var dragging = null;

    board.addEventListener("dragstart", function (event) {
      var card = event.target.closest && event.target.closest(".card");
      dragging = card && cardId(card) ? card : null;
      markTargets(dragging && dragging.dataset.status);
    });
    board.addEventListener("dragend", function () {
      dragging = null;
      markTargets(null);
    });

    if (board.hasAttribute("data-board")) {
      board.setAttribute("data-status-drop", "");
      board.addEventListener("taskmon:status-drop", function (event) {
        event.preventDefault();
        var detail = event.detail;
        markTargets(null);
        moveCard(event.target, detail.taskId, detail.from, detail.to);
      });
      return;
    }

    // Cards a theme's own script renders later are made draggable as they come.
    function makeDraggable() {
      board.querySelectorAll(".card:not([draggable])").forEach(function (card) {
        if (!cardId(card)) return;
        card.setAttribute("draggable", "true");
        card.title = say("drag_hint");
      });
    }
    makeDraggable();
    document.addEventListener("taskmon:rendered", makeDraggable);
    board.addEventListener("dragstart", function (event) {
      if (dragging) event.dataTransfer.setData("text/plain", cardId(dragging));
    });
    board.addEventListener("dragover", function (event) {
      var column = columnOf(event.target);
      if (dragging && column && column !== columnOf(dragging)) event.preventDefault();
    });
    board.addEventListener("drop", function (event) {
      var column = columnOf(event.target);
      var card = dragging;
      if (!card || !column || column === columnOf(card)) return;
      event.preventDefault();
      markTargets(null);
      moveCard(card, cardId(card), card.dataset.status, columnStatus(column));
    });

    function columnOf(node) {
      return node && node.closest ? node.closest(".column") : null;
    }

    function markTargets(status) {
      board.querySelectorAll(".column").forEach(function (column) {
        var target = columnStatus(column);
        var ok = !!status && canMove(status, target);
        column.classList.toggle("taskmon-drop-ok", ok);
        column.classList.toggle("taskmon-drop-no", !!status && !ok && status !== target);
      });
    }
  }

  function moveCard(card, id, from, to) {
    if (!to || to === from) return;
    if (!canMove(from, to)) {
      var allowed = allowedFrom(from).map(statusLabel).join(", ") || "–";
      showNotice("error", say("drop_hint", { status: statusLabel(to), from: statusLabel(from) }) +
        " " + say("allowed_hint", { allowed: allowed }));
      return;
    }
    if (!confirmed(to)) return;
    card.classList.add("taskmon-busy");
    var shown = from === undefined ? {} : { status: known(from, STATUS_IDS) };
    run(function () {
      return changeStatus([{ id: id, shown: shown }], to);
    }).then(function (reply) {
      if (!reply.ok) card.classList.remove("taskmon-busy");
    });
  }

  // A card of no known status may try any column; the server has the last word.
  function canMove(from, to) {
    if (!to || from === to) return false;
    return STATUS_IDS.indexOf(from) === -1 || allowedFrom(from).indexOf(to) !== -1;
  }

  function columnStatus(column) {
    return known(column.dataset.status, STATUS_IDS) ||
      idFromClass(column, "status-col-", STATUS_IDS) || idFromClass(column, "status-", STATUS_IDS);
  }

  function cardId(card) {
    if (card.dataset.taskId) return card.dataset.taskId;
    var cell = card.querySelector(".card-id");
    return cell ? cell.textContent.trim() : "";
  }
})();
