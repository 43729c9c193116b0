// The public registration form: one submission per tap (a second tap waits).
(function () {
  "use strict";
  const form = document.getElementById("registration-form");
  if (!form) return;
  form.addEventListener("submit", () => {
    const button = document.getElementById("register-button");
    if (button.dataset.sent) return;
    button.dataset.sent = "1";
    window.setTimeout(() => { button.disabled = true; }, 0);
  });
})();
