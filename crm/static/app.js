// Postal code → prefecture and municipality, from the app's own offline data.
(function () {
  "use strict";
  const input = document.getElementById("postal_code");
  const button = document.getElementById("postal-button");
  const status = document.getElementById("postal-status");
  if (!input || !input.dataset.postalLookup) return;

  function digits(text) {
    return text.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\D/g, "");
  }

  async function lookUp(fillAlways) {
    const code = digits(input.value);
    if (code.length !== 7) return;
    const url = input.dataset.postalLookup.replace("0000000", code);
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin" });
    } catch (error) {
      status.textContent = status.dataset.failed;
      return;
    }
    if (!response.ok) {
      status.textContent = response.status === 404 ? status.dataset.notFound : status.dataset.failed;
      return;
    }
    const place = await response.json();
    const prefecture = document.getElementById("prefecture");
    const municipality = document.getElementById("municipality");
    const address = document.getElementById("address");
    input.value = place.postal_code;
    if (fillAlways || !prefecture.value) prefecture.value = place.prefecture;
    if (fillAlways || !municipality.value) municipality.value = place.municipality;
    if (address && !address.value && place.neighborhood) address.value = place.neighborhood;
    status.textContent = status.dataset.found;
  }

  if (button) button.addEventListener("click", () => lookUp(true));
  input.addEventListener("change", () => lookUp(false));
})();

// After a failed save, put the cursor in the first field that needs correcting.
(function () {
  "use strict";
  const invalid = document.querySelector("form .is-invalid");
  if (invalid) {
    invalid.focus();
    invalid.scrollIntoView({ block: "center" });
  }
})();

// Buttons that destroy something ask first; the print button on paper sheets.
(function () {
  "use strict";
  document.querySelectorAll("form.confirm").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  const print = document.getElementById("print-button");
  if (print) print.addEventListener("click", () => window.print());
})();
