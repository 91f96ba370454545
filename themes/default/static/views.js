// taskmon-site: the dashboard's "changed" panel, and filtering, sorting and
// reordering on the task list and the board. Runs after app.js and data.js.
//
// The list and the board are rendered in full by the build, so without
// JavaScript every task is there. Here the rows and cards are taken over: the
// filters run on the records of data.js (the same order as the rows), and only
// the first matches are put in the page, more on request, so one keystroke
// costs the same with 100 tasks or 10,000.
//
// Filters and sort live in the URL: deliberate changes push a history entry,
// typing replaces it (one entry per typing burst), and the back button restores.
//
// Other scripts (the preview server's task actions) should find rows and cards
// when they need them, not once: rows and cards come and go with the filters,
// and after each change a "taskmon:rendered" event bubbles from the table or
// the board.
//
// Board hook for status changes (used by a preview server, not by this file):
// every card carries data-task-id and data-url, every column data-status. When
// the board element has a data-status-drop attribute, a card may be dropped on
// another column; the card then stays where it was and a cancelable
// "taskmon:status-drop" event bubbles from it with detail {taskId, url, from, to}.
(function () {
  "use strict";

  var app = window.TaskmonApp;
  var data = window.TASKMON_DATA;
  if (!app || !data) return;

  var t = app.t;
  var el = app.el;
  var marks = app.marks;
  var LIST_PAGE = 100;
  var COLUMN_PAGE = 25;
  var records = makeRecords(data);

  function makeRecords(source) {
    var f = app.fieldIndex(source);
    return source.tasks.map(function (row, i) {
      return {
        i: i, url: row[f.url], id: row[f.id], title: row[f.title], status: row[f.status],
        current: row[f.current], next: row[f.next], flow: row[f.flow], stamp: row[f.stamp],
        created: row[f.created], updated: row[f.updated], done: row[f.done],
        total: row[f.total], stale: row[f.stale],
        hay: (row[f.id] + "\n" + row[f.title] + "\n" + row[f.text]).toLowerCase()
      };
    });
  }

  function isNew(r) {
    return marks.isNew(r.url, r.stamp, r.updated);
  }

  /**
   * Make *parent*'s element children exactly *wanted*, in order. Nodes that stay
   * are not moved, so the browser lays out only what is new.
   */
  function syncChildren(parent, wanted, onRemove) {
    var keep = new Set(wanted);
    Array.prototype.slice.call(parent.children).forEach(function (child) {
      if (keep.has(child)) return;
      parent.removeChild(child);
      if (onRemove) onRemove(child);
    });
    var cursor = parent.firstElementChild;
    wanted.forEach(function (node) {
      if (node === cursor) cursor = cursor.nextElementSibling;
      else parent.insertBefore(node, cursor);
    });
  }

  function setText(node, text) {
    text = String(text);
    if (node.textContent !== text) node.textContent = text;
  }

  // -- filter state and the URL ------------------------------------------------------

  var PARAMS = ["q", "status", "current", "next", "flow", "new", "attention", "lanes", "sort",
    "order"];
  // Statuses that need attention (besides stale tasks), from the form.
  var attentionStatuses = [];

  function readState(search) {
    var params = new URLSearchParams(search);
    var state = {};
    PARAMS.forEach(function (name) { state[name] = params.get(name) || ""; });
    state.status = params.getAll("status").join(",").split(",").filter(Boolean);
    return state;
  }

  function queryOf(state) {
    var params = new URLSearchParams();
    PARAMS.forEach(function (name) {
      var value = name === "status" ? state.status.join(",") : state[name];
      if (value) params.set(name, value);
    });
    var text = params.toString().replace(/%2C/g, ",");
    return text ? "?" + text : "";
  }

  function stateFromForm(form, state) {
    var next = Object.assign({}, state);
    next.q = form.elements.q.value.trim();
    next.status = Array.prototype.filter.call(form.querySelectorAll("input[name=status]"),
      function (box) { return box.checked; }).map(function (box) { return box.value; });
    ["current", "next", "flow"].forEach(function (name) {
      next[name] = form.elements[name] ? form.elements[name].value : "";
    });
    next["new"] = form.elements["new"].checked ? "1" : "";
    next.attention = form.elements.attention.checked ? "1" : "";
    next.lanes = form.elements.lanes && form.elements.lanes.checked ? "current" : "";
    if (form.elements.sort) {
      next.sort = form.elements.sort.value;
      next.order = next.sort ? form.elements.order.value : "";
    }
    return next;
  }

  function formFromState(form, state) {
    if (form.elements.q.value.trim() !== state.q) form.elements.q.value = state.q;
    form.querySelectorAll("input[name=status]").forEach(function (box) {
      box.checked = state.status.indexOf(box.value) !== -1;
    });
    ["current", "next", "flow"].forEach(function (name) {
      var select = form.elements[name];
      if (!select) return;
      select.value = state[name];
      if (select.value !== state[name]) select.value = "";
    });
    form.elements["new"].checked = !!state["new"];
    form.elements.attention.checked = !!state.attention;
    if (form.elements.lanes) form.elements.lanes.checked = !!state.lanes;
    if (form.elements.sort) {
      form.elements.sort.value = state.sort;
      if (form.elements.sort.value !== state.sort) form.elements.sort.value = "";
      form.elements.order.value = state.order === "desc" ? "desc" : "asc";
      form.elements.order.disabled = !form.elements.sort.value;
    }
  }

  /**
   * *state* without the values this form does not offer (an old link, a renamed role):
   * they would hide every task while the form shows "All". Returns what it dropped.
   */
  function dropUnknown(form, state) {
    var dropped = [];
    function offered(name, value) {
      var field = form.elements[name];
      if (!field) return false;
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (o) { return o.value === value; });
      }
      return field.value === value;
    }
    state.status = state.status.filter(function (value) {
      var known = Array.prototype.some.call(form.querySelectorAll("input[name=status]"),
        function (box) { return box.value === value; });
      if (!known) dropped.push("status=" + value);
      return known;
    });
    ["current", "next", "flow", "new", "attention", "lanes", "sort", "order"].forEach(
      function (name) {
        // A choice another page makes (the list's sort, the board's lanes) is left alone.
        var elsewhere = (name === "lanes" || name === "sort" || name === "order") &&
          !form.elements[name];
        if (!state[name] || elsewhere || offered(name, state[name])) return;
        dropped.push(name + "=" + state[name]);
        state[name] = "";
      });
    return dropped;
  }

  /** Wire a filter form to *render(state)*; returns a function to change the state in code. */
  function bindFilters(form, render) {
    var notice = form.querySelector("[data-filter-notice]");
    var state = null;
    var typing = false;
    attentionStatuses = (form.elements.attention.getAttribute("data-statuses") || "").split(",");

    function fromUrl() {
      var next = readState(location.search);
      var dropped = dropUnknown(form, next);
      notice.hidden = !dropped.length;
      setText(notice.querySelector("[data-dropped]"), dropped.join(", "));
      if (dropped.length) {
        history.replaceState(null, "", location.pathname + queryOf(next) + location.hash);
      }
      return next;
    }

    function commit(next, how) {
      var query = queryOf(next);
      state = next;
      if (query !== location.search) {
        var url = location.pathname + query + location.hash;
        if (how === "push") history.pushState(null, "", url);
        else history.replaceState(null, "", url);
      }
      render(state);
    }
    form.addEventListener("input", function (event) {
      if (event.target.name !== "q") return;
      commit(stateFromForm(form, state), typing ? "replace" : "push");
      typing = true;
    });
    form.addEventListener("change", function (event) {
      if (event.target.name === "q") { typing = false; return; }
      typing = false;
      commit(stateFromForm(form, state), "push");
    });
    notice.querySelector("[data-dismiss]").addEventListener("click", function () {
      notice.hidden = true;
    });
    form.querySelector("[data-reset]").addEventListener("click", function () {
      notice.hidden = true;
      var keep = { sort: state.sort, order: state.order, lanes: state.lanes };
      var next = readState("");
      Object.assign(next, keep);
      formFromState(form, next);
      commit(next, "push");
    });
    window.addEventListener("popstate", function () {
      state = fromUrl();
      typing = false;
      formFromState(form, state);
      render(state);
    });
    state = fromUrl();
    formFromState(form, state);
    render(state);
    return function (changes) {
      var next = Object.assign({}, state, changes);
      formFromState(form, next);
      commit(next, "push");
    };
  }

  /** Does record *r* pass every filter but the status one? */
  function matcher(state) {
    var words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    var onlyNew = !!state["new"];
    var attention = !!state.attention;
    return function (r) {
      if (attention && !r.stale && attentionStatuses.indexOf(r.status) === -1) return false;
      if (state.current && r.current !== state.current) return false;
      if (state.next && r.next !== state.next) return false;
      if (state.flow && r.flow !== state.flow) return false;
      for (var w = 0; w < words.length; w++) {
        if (r.hay.indexOf(words[w]) === -1) return false;
      }
      return !onlyNew || isNew(r);
    };
  }

  function showCounts(form, counts, shown) {
    form.querySelectorAll("[data-count-for]").forEach(function (node) {
      var n = counts[node.getAttribute("data-count-for")] || 0;
      setText(node, n);
      node.parentNode.classList.toggle("zero", n === 0);
    });
    setText(form.querySelector("[data-shown]"),
      t("shown_of", { shown: shown, total: records.length }));
  }

  function setupMarkAll(render) {
    document.querySelectorAll("[data-mark-all-read]").forEach(function (button) {
      button.addEventListener("click", function () {
        marks.readAll(records);
        render();
      });
    });
  }

  /** Put or take away the "new" badge after *anchor*, for record *r*. */
  function showNew(anchor, r, host, onRead) {
    var fresh = isNew(r);
    var badge = anchor.parentNode.querySelector("[data-new-mark]");
    if (host) host.classList.toggle("is-new", fresh);
    if (fresh && !badge) {
      anchor.insertAdjacentElement("afterend", app.newMark(r.url, r.stamp, onRead));
    }
    if (!fresh && badge) badge.remove();
  }

  // -- the task list ------------------------------------------------------------------

  var SORTS = {
    id: function (r) { return r.id.toLowerCase(); },
    title: function (r) { return r.title.toLowerCase(); },
    status: function (r) { return rank(app.ui.statuses, r.status); },
    handoff: function (r) {
      return rank(app.ui.roles, r.current) * 10 + rank(app.ui.roles, r.next);
    },
    progress: function (r) { return r.total ? r.done / r.total : -1; },
    created: function (r) { return r.created == null ? -Infinity : r.created; },
    updated: function (r) { return r.updated == null ? -Infinity : r.updated; }
  };
  var DESC_FIRST = { created: true, updated: true, progress: true };

  function rank(list, id) {
    var at = list.indexOf(id);
    return at === -1 ? list.length : at;
  }

  function sortedOrder(key, descending) {
    var order = records.map(function (r) { return r.i; });
    var keyOf = SORTS[key];
    if (!keyOf) return order;
    var keys = records.map(keyOf);
    var sign = descending ? -1 : 1;
    order.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      return x < y ? -sign : x > y ? sign : a - b;
    });
    return order;
  }

  function setupList() {
    var form = document.querySelector("[data-filters=list]");
    var table = document.querySelector("[data-task-table]");
    if (!form || !table) return;
    var tbody = table.tBodies[0];
    var rows = alignedRows(Array.prototype.slice.call(tbody.rows));
    var more = document.querySelector("[data-more]");
    var empty = document.querySelector("[data-no-matches]");
    var orderCache = {};
    var state = null;
    var matches = [];
    var limit = LIST_PAGE;

    function render(next) {
      var started = performance.now();
      if (next) {
        state = next;
        // As many rows as this history entry had shown (through a reload, Back or
        // Forward); a new filter makes a new entry, which starts from the first.
        limit = keptShown("list") || LIST_PAGE;
      }
      var sortKey = SORTS[state.sort] ? state.sort : "";
      var cacheKey = sortKey + ":" + state.order;
      var order = orderCache[cacheKey] ||
        (orderCache[cacheKey] = sortedOrder(sortKey, state.order === "desc"));
      var passes = matcher(state);
      var wanted = state.status.length ? state.status : null;
      var counts = {};
      matches = [];
      for (var k = 0; k < order.length; k++) {
        var r = records[order[k]];
        if (!passes(r)) continue;
        counts[r.status] = (counts[r.status] || 0) + 1;
        if (!wanted || wanted.indexOf(r.status) !== -1) matches.push(r);
      }
      fill();
      showCounts(form, counts, matches.length);
      showSort(table, sortKey, state.order);
      performance.measure("taskmon-filter", { start: started });
    }

    // Rows out of the page are detached and marked hidden (for scripts that look at
    // rows); rows that stay keep their place, so the browser lays out only new ones.
    if (rows.length) {
      tbody.replaceChildren();
      rows.forEach(function (row) { row.hidden = true; });
    }

    function fill() {
      var shown = Math.min(limit, matches.length);
      var wanted = [];
      for (var k = 0; k < shown; k++) {
        var row = rows[matches[k].i];
        if (!row) continue;
        row.hidden = false;
        showNew(row.querySelector(".col-title a"), matches[k], row, onRead);
        wanted.push(row);
      }
      syncChildren(tbody, wanted, function (row) { row.hidden = true; });
      table.dispatchEvent(new CustomEvent("taskmon:rendered", { bubbles: true }));
      empty.hidden = matches.length > 0;
      var rest = matches.length - shown;
      more.hidden = rest <= 0;
      more.textContent = t("show_more", { n: Math.min(rest, LIST_PAGE) });
    }

    function onRead() {
      if (state["new"]) render(state); else fill();
    }

    more.addEventListener("click", function () {
      limit += LIST_PAGE;
      keepShown("list", limit);
      fill();
    });
    // A new sort key from the narrow-screen choice starts in its natural order, as a
    // header does; the form's own change handler then reads both choices.
    form.elements.sort.addEventListener("change", function () {
      form.elements.order.value = DESC_FIRST[form.elements.sort.value] ? "desc" : "asc";
      form.elements.order.disabled = !form.elements.sort.value;
    });
    var change = bindFilters(form, render);
    table.querySelectorAll("th[data-sort-key] .sort").forEach(function (button) {
      button.addEventListener("click", function () {
        var key = button.parentNode.getAttribute("data-sort-key");
        var order;
        if (state.sort === key) order = state.order === "desc" ? "asc" : "desc";
        else order = DESC_FIRST[key] ? "desc" : "asc";
        change({ sort: key, order: order });
      });
    });
    setupMarkAll(function () { render(state); });
    table.classList.add("ready");
  }

  /** The rows (or cards) in record order; a page older than data.js gets none. */
  // How far "show more" went, kept in the page's history entry: a reload (the preview
  // reloads on every save) shows as many again, so the browser can scroll back to
  // where the reader was. A new filter starts from the first page again.
  function keptShown(name) {
    var kept = history.state && history.state.taskmonShown;
    return (kept && kept[name]) || null;
  }

  function keepShown(name, value) {
    var entry = Object.assign({}, history.state);
    entry.taskmonShown = Object.assign({}, entry.taskmonShown);
    entry.taskmonShown[name] = value;
    history.replaceState(entry, "");
  }

  function alignedRows(nodes) {
    if (nodes.length !== records.length) return [];
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getAttribute("data-task-id") !== records[i].id) return [];
      nodes[i].setAttribute("data-url", records[i].url);
    }
    return nodes;
  }

  function showSort(table, key, order) {
    table.querySelectorAll("th[data-sort-key]").forEach(function (th) {
      var on = th.getAttribute("data-sort-key") === key;
      if (on) th.setAttribute("aria-sort", order === "desc" ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
      th.querySelector(".sort").title = on ? t(order === "desc" ? "sort_desc" : "sort_asc") : "";
    });
  }

  // -- the board ------------------------------------------------------------------------

  function setupBoard() {
    var form = document.querySelector("[data-filters=board]");
    var board = document.querySelector("[data-board]");
    if (!form || !board) return;
    // The build's columns stay the columns (other scripts may listen on them);
    // lanes get columns of their own.
    var columns = {};
    var byStatus = {};
    board.querySelectorAll(".column[data-status]").forEach(function (column) {
      var status = column.getAttribute("data-status");
      column.setAttribute("data-lane", "");
      columns[status] = column;
      byStatus[status] = Array.prototype.slice.call(column.querySelectorAll(".card"));
    });
    var statuses = Object.keys(columns);
    var cards = cardsByRecord(byStatus);
    var announce = document.querySelector("[data-board-status]");
    var empty = document.querySelector("[data-no-matches]");
    var limits = {};
    var state = null;

    function render(next) {
      var started = performance.now();
      if (next) {
        state = next;
        limits = keptShown("board") || {};
      }
      var passes = matcher(state);
      var shownStatuses = state.status.length ? statuses.filter(function (s) {
        return state.status.indexOf(s) !== -1;
      }) : statuses;
      var cells = {};
      var counts = {};
      var shown = 0;
      records.forEach(function (r) {
        if (!passes(r)) return;
        counts[r.status] = (counts[r.status] || 0) + 1;
        if (shownStatuses.indexOf(r.status) === -1) return;
        var key = (state.lanes ? r.current : "") + "|" + r.status;
        (cells[key] = cells[key] || []).push(r);
        shown++;
      });
      var ranks = {};
      shownStatuses.forEach(function (s) { ranks[s] = rankOf(s); });
      function fillColumn(lane, status, column) {
        var list = (cells[lane + "|" + status] || []).sort(function (a, b) {
          return ranks[status](a) - ranks[status](b);
        });
        return fill(column, lane, status, list);
      }
      board.classList.toggle("lanes", !!state.lanes);
      if (state.lanes) {
        syncChildren(board, laneIds().filter(function (lane) {
          return shownStatuses.some(function (s) { return cells[lane + "|" + s]; });
        }).map(function (lane) {
          var section = laneSection(lane);
          syncChildren(section.lastElementChild, shownStatuses.map(function (s) {
            return fillColumn(lane, s, laneColumn(lane, s));
          }));
          return section;
        }));
      } else {
        syncChildren(board, shownStatuses.map(function (s) {
          return fillColumn("", s, columns[s]);
        }));
      }
      // Sized once in the board: columns put back just now are sized too.
      sizeColumns(shownStatuses, counts);
      showCounts(form, counts, shown);
      if (empty) empty.hidden = shown > 0;
      board.dispatchEvent(new CustomEvent("taskmon:rendered", { bubbles: true }));
      performance.measure("taskmon-filter", { start: started });
    }

    // A status no shown task has shrinks to a narrow strip (in every lane alike), so the
    // columns with cards get the width.
    function sizeColumns(shownStatuses, counts) {
      board.classList.add("sized");
      board.style.setProperty("--board-columns", shownStatuses.map(function (s) {
        return counts[s] ? "var(--column)" : "var(--collapsed-column)";
      }).join(" "));
      board.querySelectorAll(".column[data-status]").forEach(function (column) {
        column.classList.toggle("is-collapsed", !counts[column.getAttribute("data-status")]);
      });
    }

    function laneIds() {
      var ids = app.ui.roles.slice();
      records.forEach(function (r) { if (ids.indexOf(r.current) === -1) ids.push(r.current); });
      return ids;
    }

    var lanes = {};
    var laneColumns = {};

    function laneSection(lane) {
      if (lanes[lane]) return lanes[lane];
      var section = el("section", { "class": "lane", "data-lane": lane });
      var head = el("h2", { "class": "lane-head" });
      head.appendChild(el("span", { "class": "role role-" + lane }, app.label(lane)));
      section.appendChild(head);
      section.appendChild(el("div", { "class": "lane-row" }));
      return (lanes[lane] = section);
    }

    function laneColumn(lane, status) {
      var key = lane + "|" + status;
      if (laneColumns[key]) return laneColumns[key];
      var column = columns[status].cloneNode(false);
      column.removeAttribute("aria-labelledby");
      column.setAttribute("aria-label", app.label(status) + " · " + app.label(lane));
      column.setAttribute("data-lane", lane);
      var head = columns[status].querySelector(".column-head").cloneNode(true);
      head.removeAttribute("id");
      column.appendChild(head);
      column.appendChild(el("div", { "class": "cards" }));
      return (laneColumns[key] = column);
    }

    /** Show the first cards of *list* in *column*, and a "show more" button for the rest. */
    function fill(column, lane, status, list) {
      var key = lane + "|" + status;
      var limit = limits[key] || COLUMN_PAGE;
      var wanted = [];
      list.slice(0, limit).forEach(function (r) {
        var card = cards[r.i];
        if (!card) return;
        var title = card.querySelector(".card-title");
        showNew(title, r, card, function () {
          if (state["new"]) render(state); else showNew(title, r, card);
        });
        showAge(card, r);
        wanted.push(card);
      });
      syncChildren(column.querySelector(".cards"), wanted);
      setText(column.querySelector("[data-column-count]"), list.length);
      column.classList.toggle("is-empty", list.length === 0);
      var more = column.querySelector(".more");
      if (!more) {
        more = el("p", { "class": "more" });
        more.appendChild(el("button", { type: "button", "class": "button" }));
        more.firstChild.addEventListener("click", function () {
          limits[key] = (limits[key] || COLUMN_PAGE) + COLUMN_PAGE;
          keepShown("board", limits);
          render();
        });
        column.appendChild(more);
      }
      more.hidden = list.length <= limit;
      setText(more.firstChild, t("show_more", { n: Math.min(COLUMN_PAGE, list.length - limit) }));
      return column;
    }

    // -- kept order: the urls of a status's tasks, in the order the person left them --

    function rankOf(status) {
      var saved = app.store.get("order:" + status, []);
      var at = {};
      saved.forEach(function (url, k) { at[url] = k; });
      return function (r) {
        return (r.url in at ? at[r.url] : saved.length + r.i / records.length) ;
      };
    }

    /** Save the order of a column after a move, keeping hidden tasks in their places. */
    function saveOrder(holder, status) {
      var visible = Array.prototype.map.call(holder.querySelectorAll(".card"), function (card) {
        return card.getAttribute("data-url");
      });
      var byRank = rankOf(status);
      var all = records.filter(function (r) { return r.status === status; })
        .sort(function (a, b) { return byRank(a) - byRank(b); })
        .map(function (r) { return r.url; });
      var moved = {};
      visible.forEach(function (url) { moved[url] = true; });
      var next = 0;
      var merged = all.map(function (url) { return moved[url] ? visible[next++] : url; });
      app.store.set("order:" + status, merged);
    }

    function showAge(card, r) {
      var time = card.querySelector("time.age");
      if (!time || r.updated == null) return;
      if (!time.title) time.title = time.textContent;
      setText(time, app.age(r.updated));
    }

    setupDrag(board, saveOrder, announce);
    bindFilters(form, render);
    setupMarkAll(function () { render(state); });
    board.classList.add("ready");
  }

  function cardsByRecord(byStatus) {
    var cards = [];
    var next = {};
    var ok = true;
    records.forEach(function (r) {
      var list = byStatus[r.status] || [];
      var card = list[next[r.status] = (next[r.status] || 0)];
      next[r.status]++;
      if (!card || card.getAttribute("data-task-id") !== r.id) ok = false;
      else {
        card.setAttribute("data-url", r.url);
        card.setAttribute("draggable", "true");
        cards[r.i] = card;
      }
    });
    return ok ? cards : [];
  }

  // -- dragging cards ------------------------------------------------------------------------

  function setupDrag(board, saveOrder, announce) {
    var dragged = null;
    var from = null;

    function columnOf(node) {
      return node && node.closest ? node.closest(".column") : null;
    }
    function sameColumn(column) {
      return column && from &&
        column.getAttribute("data-status") === from.getAttribute("data-status") &&
        column.getAttribute("data-lane") === from.getAttribute("data-lane");
    }

    board.addEventListener("dragstart", function (event) {
      var card = event.target.closest && event.target.closest(".card");
      if (!card) return;
      dragged = card;
      from = columnOf(card);
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.getAttribute("data-url"));
      requestAnimationFrame(function () { card.classList.add("dragging"); });
    });
    board.addEventListener("dragover", function (event) {
      if (!dragged) return;
      var column = columnOf(event.target);
      if (!column) return;
      if (!sameColumn(column)) {
        if (board.hasAttribute("data-status-drop")) event.preventDefault();
        return;
      }
      event.preventDefault();
      var holder = column.querySelector(".cards");
      var after = cardAfter(holder, event.clientY);
      if (after !== dragged && after !== dragged.nextElementSibling) {
        holder.insertBefore(dragged, after);
      } else if (!after && holder.lastElementChild !== dragged) {
        holder.appendChild(dragged);
      }
    });
    board.addEventListener("drop", function (event) {
      if (!dragged) return;
      var column = columnOf(event.target);
      event.preventDefault();
      if (sameColumn(column)) {
        saveOrder(column.querySelector(".cards"), column.getAttribute("data-status"));
      } else if (column) {
        dragged.dispatchEvent(new CustomEvent("taskmon:status-drop", {
          bubbles: true, cancelable: true,
          detail: { taskId: dragged.getAttribute("data-task-id"),
            url: dragged.getAttribute("data-url"),
            from: from.getAttribute("data-status"), to: column.getAttribute("data-status") }
        }));
      }
    });
    board.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      from = null;
    });

    // Alt + ↑/↓ on a focused card (or its link) moves it within its column.
    board.addEventListener("keydown", function (event) {
      if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
      var card = event.target.closest && event.target.closest(".card");
      if (!card) return;
      var sibling = event.key === "ArrowUp" ? card.previousElementSibling : card.nextElementSibling;
      if (!sibling) return;
      event.preventDefault();
      var holder = card.parentNode;
      holder.insertBefore(card, event.key === "ArrowUp" ? sibling : sibling.nextElementSibling);
      saveOrder(holder, columnOf(card).getAttribute("data-status"));
      event.target.focus();
      var position = Array.prototype.indexOf.call(holder.children, card) + 1;
      if (announce) announce.textContent = t("moved_to", { n: position });
    });
  }

  function cardAfter(holder, y) {
    var cards = holder.querySelectorAll(".card:not(.dragging)");
    for (var k = 0; k < cards.length; k++) {
      var box = cards[k].getBoundingClientRect();
      if (y < box.top + box.height / 2) return cards[k];
    }
    return null;
  }

  // -- the dashboard --------------------------------------------------------------------------

  function setupDashboard() {
    var panel = document.querySelector("[data-changed]");
    if (!panel) return;
    var byUrl = {};
    records.forEach(function (r) { byUrl[r.url] = r; });
    var list = panel.querySelector("[data-changed-list]");

    function render() {
      var fresh = records.filter(isNew).sort(function (a, b) {
        return (b.updated || 0) - (a.updated || 0);
      });
      panel.hidden = fresh.length === 0;
      panel.querySelector("[data-changed-count]").textContent = fresh.length;
      list.replaceChildren.apply(list, fresh.slice(0, 20).map(function (r) {
        var item = el("li");
        item.appendChild(el("span", { "class": "status status-" + r.status }, app.label(r.status)));
        item.appendChild(document.createTextNode(" "));
        var link = el("a", { href: app.root + r.url, "data-task-url": r.url }, r.title);
        item.appendChild(link);
        if (r.updated != null) {
          item.appendChild(el("span", { "class": "muted small" }, " · " + app.ago(r.updated)));
        }
        return item;
      }));
      // One mark per task and section; the activity feed links entries, not tasks.
      var marked = new Set();
      document.querySelectorAll("main section a[data-task-url]").forEach(function (link) {
        var r = byUrl[link.getAttribute("data-task-url")];
        var section = link.closest("section");
        if (!r || section.querySelector(".activity")) return;
        var key = section.getAttribute("aria-labelledby") + " " + r.url;
        if (marked.has(key)) return;
        marked.add(key);
        showNew(link, r, null, render);
      });
    }
    setupMarkAll(render);
    render();
  }

  setupDashboard();
  setupList();
  setupBoard();
})();
