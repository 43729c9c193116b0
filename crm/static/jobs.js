// A print job's progress page: asks the server once a second until the job ends.
(function () {
  "use strict";
  const box = document.getElementById("print-job");
  if (!box) return;
  const progress = document.getElementById("job-progress");
  const bar = document.getElementById("job-bar");
  const message = document.getElementById("job-message");
  const waiting = document.getElementById("job-waiting");
  const offline = document.getElementById("job-offline");
  const error = document.getElementById("job-error");
  const ready = document.getElementById("job-ready");
  const download = document.getElementById("job-download");
  const file = document.getElementById("job-file");
  const leave = document.getElementById("job-leave");
  const POLL_MS = 1000;

  function show(element, visible) {
    element.classList.toggle("d-none", !visible);
  }

  function setBar(state, percent) {
    // Set here, not in the HTML: the CSP allows no inline styles.
    bar.style.width = percent + "%";
    bar.textContent = percent + "%";
    progress.setAttribute("aria-valuenow", String(percent));
    const active = state === "queued" || state === "running";
    bar.classList.toggle("progress-bar-striped", active);
    bar.classList.toggle("progress-bar-animated", active);
    bar.classList.toggle("bg-success", state === "done");
    show(progress, state !== "failed");
  }

  function render(job) {
    setBar(job.state, job.percent);
    message.textContent = job.message;
    show(waiting, Boolean(job.waiting_long));
    error.textContent = job.error || "";
    show(error, job.state === "failed");
    if (job.download_url) {
      download.href = job.download_url;
      file.textContent = job.file_label;
    }
    show(ready, Boolean(job.download_url));
    show(leave, job.state === "queued" || job.state === "running");
  }

  async function poll() {
    let job;
    try {
      const response = await fetch(box.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (!response.ok) throw new Error(String(response.status));
      job = await response.json();
    } catch (failure) {
      offline.textContent = box.dataset.connectionLost;
      show(offline, true);
      window.setTimeout(poll, POLL_MS * 3);
      return;
    }
    show(offline, false);
    render(job);
    if (job.state === "queued" || job.state === "running") {
      window.setTimeout(poll, POLL_MS);
    }
  }

  setBar(box.dataset.state, Number(box.dataset.percent || 0));
  if (box.dataset.state === "queued" || box.dataset.state === "running") {
    window.setTimeout(poll, POLL_MS);
  }
})();
