// The new-interview form: "Draft questions from the job description" asks the
// server's interviewer for drafts (POST /api/questions/generate/, nothing is
// saved) and appends them to the questions box, one per line, for editing.

const $ = (id) => document.getElementById(id);

function csrfToken() {
  const field = document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

/** Plain words for each way drafting can fail. */
function draftProblem(status, body) {
  if (status === 503) return "No language model is set up on this server, so questions cannot be drafted. Type them instead.";
  if (status === 502) return "The language model gave an answer we could not use. Try again, or type the questions.";
  if (status === 400 && body && body.job_description) return "Write the job description first, then draft questions from it.";
  if (status === 401 || status === 403) return "You are not logged in any more. Log in again in another tab, then try again.";
  return "The questions could not be drafted just now. Try again, or type them.";
}

async function draftQuestions() {
  const button = $("draft-questions");
  const status = $("draft-status");
  const description = $("id_job_description").value.trim();
  if (!description) {
    status.textContent = "Write the job description first, then draft questions from it.";
    $("id_job_description").focus();
    return;
  }
  button.disabled = true;
  status.textContent = "Drafting questions…";
  try {
    const response = await fetch("/api/questions/generate/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({
        job_description: description,
        title: $("id_title").value.trim(),
        language: $("id_language").value,
      }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent = draftProblem(response.status, body);
      return;
    }
    const drafts = (body.questions || []).map((q) => q.question_text.trim()).filter(Boolean);
    const box = $("id_questions");
    const current = box.value.replace(/\s+$/, "");
    box.value = [current, ...drafts].filter(Boolean).join("\n");
    status.textContent = `Added ${drafts.length} drafted question(s) to the list below. Edit them as you like before saving.`;
    box.focus();
  } catch {
    status.textContent = "The server could not be reached. Check your connection and try again.";
  } finally {
    button.disabled = false;
  }
}

$("draft-questions").addEventListener("click", draftQuestions);
