// The interview page's staff actions: "Copy link" (with a visible confirmation)
// and a confirmation before every form marked data-confirm (cancel, end,
// rotate the link). Without this module those forms still submit, unconfirmed.

const $ = (id) => document.getElementById(id);

// --- copy the candidate's link -----------------------------------------------------

async function copyLink() {
  const field = $("join-link");
  const status = $("copy-status");
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = "Link copied. Paste it into your message to the candidate.";
  } catch {
    // No clipboard permission (or an old browser): select it for a manual copy.
    field.focus();
    field.select();
    status.textContent = "Could not copy automatically: the link is selected, press Ctrl+C (or ⌘C) to copy it.";
  }
}

$("copy-link").addEventListener("click", copyLink);

// --- confirmations -----------------------------------------------------------------

const dialog = $("confirm-dialog");
let pending = null;

function confirmSubmit(event) {
  const form = event.currentTarget;
  if (typeof dialog.showModal !== "function") {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    return;
  }
  event.preventDefault();
  pending = form;
  $("confirm-text").textContent = form.dataset.confirm;
  $("confirm-yes").textContent = form.dataset.confirmYes || "Yes";
  $("confirm-no").textContent = form.dataset.confirmNo || "No, go back";
  dialog.returnValue = ""; // Esc leaves the last answer in place
  dialog.showModal();
}

dialog.addEventListener("close", () => {
  const form = pending;
  pending = null;
  if (form && dialog.returnValue === "yes") form.submit();
});

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", confirmSubmit);
}
