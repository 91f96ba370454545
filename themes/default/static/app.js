// taskmon-site: a small progressive layer. Every page works without it.
(function () {
  "use strict";

  function showBuildTime() {
    var info = window.TASKMON_BUILD;
    if (!info) return;
    document.querySelectorAll("[data-built-at]").forEach(function (el) {
      el.textContent = info.builtAt.replace("T", " ").replace(/\.\d+/, "");
      el.setAttribute("datetime", info.builtAt);
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

  function setupListFilters() {
    var form = document.querySelector("[data-filters]");
    var table = document.querySelector("[data-task-table]");
    if (!form || !table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    var shown = form.querySelector("[data-shown]");
    var params = new URLSearchParams(location.search);
    ["q", "status", "current", "next"].forEach(function (name) {
      if (params.has(name) && form.elements[name]) form.elements[name].value = params.get(name);
    });

    function apply() {
      var q = form.elements.q.value.trim().toLowerCase();
      var want = {
        status: form.elements.status.value,
        current: form.elements.current.value,
        next: form.elements.next.value
      };
      var count = 0;
      rows.forEach(function (row, i) {
        var ok = (!q || texts[i].indexOf(q) !== -1) &&
          (!want.status || row.dataset.status === want.status) &&
          (!want.current || row.dataset.current === want.current) &&
          (!want.next || row.dataset.next === want.next);
        row.hidden = !ok;
        if (ok) count++;
      });
      if (shown) shown.textContent = count + " / " + rows.length;
      var next = new URLSearchParams();
      Object.keys(want).forEach(function (k) { if (want[k]) next.set(k, want[k]); });
      if (q) next.set("q", form.elements.q.value.trim());
      var query = next.toString();
      history.replaceState(null, "", query ? "?" + query : location.pathname);
    }

    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    apply();
  }

  showBuildTime();
  markCurrentDoc();
  setupListFilters();
})();
