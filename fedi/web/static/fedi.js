// A little progressive enhancement; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Compose: an image chosen needs its alt text (the server checks it too).
  document.querySelectorAll("fieldset.image-slot").forEach(function (slot) {
    var file = slot.querySelector("input[type=file]");
    var alt = slot.querySelector("textarea");
    if (!file || !alt) return;
    file.addEventListener("change", function () {
      alt.required = file.files.length > 0;
      if (file.files.length > 0 && !alt.value) alt.focus();
    });
  });
});
