// Who is editing the ledger: the signed-in person. The server writes their name into
// every change's history whatever the page sends; the page shows it in 填报人
// (read-only) so that the user sees whose name goes on record.

import { session } from './session.js';

let current = '';

/** The name of the person editing ('' until the session is read). */
export function editorName() {
  return current;
}

/** Fills the 填报人 input with the signed-in person's name. */
export async function bindEditorInput(input) {
  const who = await session();
  current = who.display;
  input.value = current;
  input.readOnly = true;
}
