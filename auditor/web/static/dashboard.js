// Live progress of a running audit: server-sent events from /runs/<id>/events into the list.
(function () {
  var box = document.getElementById("progress");
  if (!box || !window.EventSource) return;
  var list = box.querySelector("ul");
  var state = box.querySelector("[data-state]");
  var source = new EventSource(box.getAttribute("data-events"));
  source.addEventListener("progress", function (e) {
    var data = JSON.parse(e.data);
    state.textContent = data.status;
    state.className = "status " + data.status;
    list.innerHTML = "";
    data.lines.forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = line;
      list.appendChild(li);
    });
  });
  source.addEventListener("done", function (e) {
    source.close();
    var data = JSON.parse(e.data);
    state.textContent = data.status;
    state.className = "status " + data.status;
    box.setAttribute("data-done", data.status);
    var link = document.getElementById("report-link");
    if (link) link.hidden = false;
  });
})();
