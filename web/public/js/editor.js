// Who is editing the ledger. Every change the ledger page sends names this person
// (`by` in a PATCH, `?by=` in an import), and the history keeps it.
//
// For now it is a name typed into 填报人 and remembered in this browser's
// localStorage. When accounts come, this module is the one place to replace: make
// `editorName()` return the signed-in person's name and `bindEditorInput()` show it
// read-only; nothing else in the page needs to change.

const KEY = 'paicha.editor';

function stored() {
  try {
    return localStorage.getItem(KEY) || '';
  } catch {
    // Storage disabled (private window, policy): nobody remembered.
    return '';
  }
}

let current = stored().trim();

/** The name of the person editing ('' when nobody has said). */
export function editorName() {
  return current;
}

function remember(name) {
  current = name.trim();
  try {
    localStorage.setItem(KEY, current);
  } catch {
    // Storage disabled: the name lives as long as the page.
  }
}

/** Fills the 填报人 input with the remembered name and remembers what is typed. */
export function bindEditorInput(input) {
  input.value = current;
  input.addEventListener('input', () => remember(input.value));
  input.addEventListener('change', () => remember(input.value));
}
