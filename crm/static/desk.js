// The check-in desk: one always-focused input for QR scanners, numbers and names.
(function () {
  "use strict";
  const desk = document.getElementById("desk");
  if (!desk) return;

  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const form = document.getElementById("scan-form");
  const input = document.getElementById("code");
  const chosenId = document.getElementById("supporter_id");
  const role = document.getElementById("role");
  const result = document.getElementById("result");
  const candidatesList = document.getElementById("candidates");
  const quick = document.getElementById("quick");
  const quickForm = document.getElementById("quick-form");
  const recent = document.getElementById("recent");
  const sound = document.getElementById("sound");
  const readyMessage = result.querySelector(".result-message").textContent;
  let candidates = [];
  let highlighted = 0;
  let busy = false;
  let pending = false; // an Enter that came while the previous scan was still on its way

  // --- keeping the focus on the scan input ---------------------------------
  function refocus() {
    if (!quick.hidden && quick.contains(document.activeElement)) return;
    if (document.activeElement === role) return;
    input.focus();
  }
  input.addEventListener("blur", () => setTimeout(() => {
    if (document.activeElement === document.body || document.activeElement === null) refocus();
  }, 150));
  document.addEventListener("click", (event) => {
    if (!event.target.closest("input, select, textarea, summary, #quick")) setTimeout(refocus, 0);
  });
  // The role and the sound are set with the mouse between scans: the next card must
  // still reach the scan input, not the select or the checkbox.
  role.addEventListener("change", () => input.focus());
  sound.addEventListener("change", () => input.focus());

  // --- talking to the server -----------------------------------------------
  async function post(url, data) {
    const response = await fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
    });
    if (response.status === 401 || response.redirected) {
      window.location.reload(); // signed out: the page asks to sign in again
      throw new Error("signed out");
    }
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("application/json")) {
      // A stale page (400: CSRF token of an earlier session), no permission (403)
      // or a server error: not a lost connection, and nothing was recorded.
      const error = new Error("HTTP " + response.status);
      error.status = response.status;
      throw error;
    }
    const body = await response.json();
    return { status: response.status, body };
  }

  function failed(error) {
    const status = error && error.status;
    const message = status === 400 || status === 403 ? desk.dataset.reload
      : status ? desk.dataset.serverError : desk.dataset.failed;
    show("error", message, "", "");
    beep("error");
  }

  // --- feedback ------------------------------------------------------------
  const STYLES = {
    checked_in: "ok", already: "already", choose: "choose", counted: "idle",
    not_found: "error", withdrawn: "error", cancelled: "error", invalid: "error",
  };

  function show(style, message, name, detail) {
    result.className = "desk-result mt-3 result-" + style;
    result.querySelector(".result-message").textContent = message;
    result.querySelector(".result-name").textContent = name || "";
    result.querySelector(".result-detail").textContent = detail || "";
    // Restart the flash animation so that a repeat scan is noticed too.
    result.classList.remove("flash");
    void result.offsetWidth;
    result.classList.add("flash");
  }

  let audio = null;
  function beep(kind) {
    if (!sound.checked || !window.AudioContext) return;
    try {
      audio = audio || new AudioContext(); // one for the page: browsers limit them
      play(audio, kind);
    } catch (error) {
      /* no sound is better than a wrong message */
    }
  }
  function play(context, kind) {
    const tones = { ok: [880], already: [660, 660], error: [220] }[kind] || [440];
    tones.forEach((frequency, i) => {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.frequency.value = frequency;
      oscillator.type = kind === "error" ? "square" : "sine";
      gain.gain.value = 0.15;
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(context.currentTime + i * 0.18);
      oscillator.stop(context.currentTime + i * 0.18 + 0.14);
    });
  }
  sound.checked = localStorage.getItem("desk-sound") === "on";
  sound.addEventListener("change", () => localStorage.setItem("desk-sound", sound.checked ? "on" : "off"));

  function updateTotals(totals) {
    if (!totals) return;
    desk.querySelectorAll("[data-total]").forEach((element) => {
      const value = totals[element.dataset.total];
      if (value !== undefined) element.textContent = value;
    });
  }

  function addRecent(attendance) {
    if (!attendance || recent.querySelector(`[data-id="${attendance.id}"]`)) return;
    const item = document.createElement("li");
    item.className = "list-group-item d-flex justify-content-between align-items-center";
    item.dataset.id = attendance.id;
    const label = document.createElement("span");
    const time = document.createElement("span");
    time.className = "text-muted me-2";
    time.textContent = attendance.time;
    const number = document.createElement("span");
    number.className = "small text-muted";
    number.textContent = " " + attendance.supporter.number;
    label.append(time, attendance.supporter.name, number);
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "btn btn-sm btn-outline-danger undo";
    undo.dataset.url = attendance.undo_url;
    undo.dataset.name = attendance.supporter.name;
    undo.textContent = recent.dataset.undoLabel;
    item.append(label, undo);
    recent.prepend(item);
    while (recent.children.length > 8) recent.lastElementChild.remove();
  }

  function render(body, query) {
    const style = STYLES[body.result] || "error";
    const person = body.supporter;
    const name = person ? person.name : "";
    const detail = person ? `${person.kana}　${person.number}　${person.residence}` : "";
    show(style, body.message, name, detail);
    beep(style === "ok" ? "ok" : style === "already" ? "already" : style === "error" ? "error" : "");
    updateTotals(body.totals);
    if (body.result === "checked_in") addRecent(body.attendance);
    showCandidates(body.result === "choose" ? body.candidates : [], query);
  }

  // --- candidates from a name search: one key picks one --------------------
  function showCandidates(list, query) {
    candidates = list || [];
    highlighted = 0;
    // Digits and Enter pick a person only while the input still holds this search:
    // once anything else is typed (or scanned), they are ordinary characters again.
    candidatesList.dataset.query = candidates.length ? query : "";
    candidatesList.replaceChildren();
    candidatesList.hidden = candidates.length === 0;
    candidates.forEach((person, index) => {
      const item = document.createElement("li");
      item.className = "list-group-item list-group-item-action d-flex align-items-center gap-3";
      item.dataset.index = index;
      const key = document.createElement("kbd"); // the key that picks this person
      key.className = "desk-key";
      key.textContent = index + 1;
      const text = document.createElement("span");
      const kana = document.createElement("span");
      kana.className = "small text-muted d-block";
      kana.textContent = person.kana;
      const nameLine = document.createElement("span");
      nameLine.className = "fs-5";
      nameLine.textContent = `${person.name}　${person.number}　${person.residence}`;
      text.append(kana, nameLine);
      item.append(key, text);
      if (person.checked_in_at) {
        const badge = document.createElement("span");
        badge.className = "badge text-bg-warning ms-auto";
        badge.textContent = desk.dataset.alreadyLabel.replace("{time}", person.checked_in_at);
        item.append(badge);
      }
      item.addEventListener("click", () => choose(index));
      candidatesList.append(item);
    });
    highlight(0);
  }

  function highlight(index) {
    highlighted = index;
    candidatesList.querySelectorAll("li").forEach((item, i) => item.classList.toggle("active", i === index));
  }

  function choose(index) {
    const person = candidates[index];
    if (!person) return;
    chosenId.value = person.id;
    submitScan();
  }

  // --- scanning --------------------------------------------------------------
  // The input is emptied as soon as a scan is sent, so that the next card can be
  // scanned at once; a name search comes back selected (typing replaces it).
  function restore(text) {
    if (input.value !== "") return; // the next card is already being typed
    input.value = text;
    input.select();
  }

  async function submitScan() {
    if (busy) {
      pending = true;
      return;
    }
    if (!chosenId.value && !input.value.trim()) return;
    busy = true;
    const data = new FormData(form);
    chosenId.value = ""; // sent; a pick made while this is on its way waits its turn
    const sent = input.value;
    input.value = "";
    try {
      const { body } = await post(desk.dataset.checkInUrl, data);
      if (body.result === "choose") restore(sent);
      render(body, sent);
    } catch (error) {
      restore(sent);
      showCandidates([]);
      failed(error);
    } finally {
      busy = false;
      input.focus();
      if (pending) {
        pending = false;
        submitScan();
      }
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitScan();
  });

  input.addEventListener("input", () => {
    if (candidates.length && input.value !== candidatesList.dataset.query) showCandidates([]);
  });

  input.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.isComposing) return;
    if (!candidates.length) return;
    if (busy && (/^[1-9]$/.test(event.key) || event.key === "Enter")) {
      event.preventDefault(); // a second press while the first pick is on its way
      return;
    }
    if (input.value !== candidatesList.dataset.query) return;
    if (/^[1-9]$/.test(event.key)) {
      event.preventDefault();
      choose(Number(event.key) - 1);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((highlighted + step + candidates.length) % candidates.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(highlighted);
    }
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      if (!quick.hidden) closeQuick();
      clearSearch();
      input.focus();
      return;
    }
    if (!event.altKey) return;
    const actions = {
      "1": ["citizen", 1], "2": ["citizen", -1], "3": ["visitor", 1], "4": ["visitor", -1],
    };
    const code = event.code.replace("Digit", "").replace("Numpad", "");
    if (actions[code]) {
      event.preventDefault();
      countWalkIn(...actions[code]);
    } else if (event.code === "KeyN") {
      event.preventDefault();
      openQuick();
    }
  });

  // --- walk-in counters ------------------------------------------------------
  async function countWalkIn(group, delta) {
    const data = new FormData();
    data.append("group", group);
    data.append("delta", delta);
    try {
      const { body } = await post(desk.dataset.walkInsUrl, data);
      updateTotals(body.totals);
      show("idle", body.message, "", "");
    } catch (error) {
      failed(error);
    }
    input.focus();
  }
  desk.querySelectorAll(".walk-in").forEach((button) => {
    button.addEventListener("click", () => countWalkIn(button.dataset.group, Number(button.dataset.delta)));
  });

  // --- undo ------------------------------------------------------------------
  recent.addEventListener("click", async (event) => {
    const button = event.target.closest(".undo");
    if (!button) return;
    if (!window.confirm(desk.dataset.confirmUndo.replace("{name}", button.dataset.name))) {
      input.focus();
      return;
    }
    try {
      const { status, body } = await post(button.dataset.url, new FormData());
      if (status === 200) {
        button.closest("li").remove();
        updateTotals(body.totals);
        show("idle", body.message, "", "");
      }
    } catch (error) {
      failed(error);
    }
    input.focus();
  });

  // --- new Liker at the desk -------------------------------------------------
  function clearSearch() {
    input.value = "";
    showCandidates([]);
    if (result.classList.contains("result-choose")) show("idle", readyMessage, "", "");
  }

  function openQuick() {
    quick.hidden = false;
    clearSearch();
    quickForm.querySelector("input[type=text], input:not([type=hidden])").focus({ preventScroll: true });
    // The whole form on screen where it fits (a laptop), else from its top (a phone).
    quick.scrollIntoView({ block: quick.offsetHeight < window.innerHeight ? "nearest" : "start" });
  }
  function closeQuick() {
    quick.hidden = true;
    window.scrollTo(0, 0); // back to the scan input and the result
    input.focus();
  }
  document.getElementById("quick-open").addEventListener("click", openQuick);
  document.getElementById("quick-close").addEventListener("click", closeQuick);
  document.getElementById("quick-cancel").addEventListener("click", closeQuick);

  function clearErrors() {
    quickForm.querySelectorAll(".is-invalid").forEach((element) => element.classList.remove("is-invalid"));
    quickForm.querySelectorAll(".js-error").forEach((element) => element.remove());
  }

  quickForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    clearErrors();
    try {
      const { status, body } = await post(desk.dataset.registerUrl, new FormData(quickForm));
      if (status === 422) {
        let first = null;
        Object.entries(body.errors || {}).forEach(([name, messages]) => {
          const field = quickForm.querySelector(`[name="${name}"]`);
          if (!field) return;
          field.classList.add("is-invalid");
          const feedback = document.createElement("div");
          feedback.className = "invalid-feedback d-block js-error";
          feedback.textContent = messages.join(" ");
          (field.closest(".form-check, fieldset") || field).after(feedback);
          first = first || field;
        });
        if (first) first.focus();
        beep("error");
      } else {
        quickForm.reset();
        closeQuick();
        render(body);
      }
    } catch (error) {
      failed(error);
    } finally {
      busy = false;
    }
  });

  // --- other desks' work: refresh the totals and the latest check-ins --------
  setInterval(async () => {
    try {
      const response = await fetch(desk.dataset.statusUrl, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (!response.ok || response.redirected) return;
      const body = await response.json();
      updateTotals(body.totals);
      // The server's list wins: check-ins undone at another desk disappear here too.
      const current = new Set(body.recent.map((attendance) => String(attendance.id)));
      recent.querySelectorAll("li[data-id]").forEach((item) => {
        if (!current.has(item.dataset.id)) item.remove();
      });
      body.recent.slice().reverse().forEach(addRecent);
    } catch (error) {
      /* the next tick tries again */
    }
  }, 10000);

  // --- the camera, where the browser can read QR codes itself --------------
  const cameraButton = document.getElementById("camera-button");
  const video = document.getElementById("camera");
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    cameraButton.hidden = false;
    let stream = null;
    let lastCode = "";
    let lastAt = 0;
    cameraButton.addEventListener("click", async () => {
      if (stream) {
        stream.getTracks().forEach((track) => track.stop());
        stream = null;
        video.hidden = true;
        input.focus();
        return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      } catch (error) {
        show("error", desk.dataset.cameraFailed, "", "");
        input.focus();
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      const scan = async () => {
        if (!stream) return;
        try {
          const codes = await detector.detect(video);
          const value = codes.length ? codes[0].rawValue : "";
          const now = Date.now();
          if (value && (value !== lastCode || now - lastAt > 3000)) {
            lastCode = value;
            lastAt = now;
            input.value = value;
            submitScan();
          }
        } catch (error) {
          /* a frame that could not be read */
        }
        setTimeout(scan, 250);
      };
      scan();
      input.focus();
    });
  }
})();
