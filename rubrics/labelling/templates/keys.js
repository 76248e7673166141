// y / n / s answer the shown unit (the same as clicking Yes / No / Skip); keys typed into a
// field or with a modifier are left alone. No other script runs on the page (see its CSP).
document.addEventListener("keydown", function (ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
  var t = ev.target && ev.target.tagName;
  if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") return;
  var ids = { y: "btn-yes", n: "btn-no", s: "btn-skip" };
  var id = ids[(ev.key || "").toLowerCase()];
  var button = id && document.getElementById(id);
  if (!button || button.disabled) return;
  ev.preventDefault();
  document.querySelectorAll("#answer button").forEach(function (b) { b.disabled = true; });
  var form = document.getElementById("answer");
  var hidden = document.createElement("input");
  hidden.type = "hidden"; hidden.name = "label"; hidden.value = button.value;
  form.appendChild(hidden);
  form.submit();
});
document.documentElement.setAttribute("data-keys", "on");  // the keys work from now on
