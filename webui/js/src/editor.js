// The JSON editor of the trigger form: CodeMirror 6 with JSON syntax,
// line numbers, bracket matching, undo, and a linter that marks where the
// text stops being JSON.
import { EditorView, minimalSetup } from 'codemirror';
import { lineNumbers } from '@codemirror/view';
import { bracketMatching, indentOnInput } from '@codemirror/language';
import { json, jsonParseLinter } from '@codemirror/lang-json';
import { linter, lintGutter } from '@codemirror/lint';

// jsonEditor puts an editor holding doc into parent; onChange gets the
// text after each edit. The editor answers text(), set(text), focus().
// nonce is the page's CSP nonce, which CodeMirror puts on the <style>
// elements it adds.
export function jsonEditor(parent, doc, { onChange, label, nonce } = {}) {
  const view = new EditorView({
    doc,
    parent,
    extensions: [
      minimalSetup,
      nonce ? EditorView.cspNonce.of(nonce) : [],
      lineNumbers(),
      bracketMatching(),
      indentOnInput(),
      json(),
      linter(jsonParseLinter(), { delay: 300 }),
      lintGutter(),
      EditorView.contentAttributes.of(label ? { 'aria-label': label } : {}),
      EditorView.updateListener.of((u) => { if (u.docChanged && onChange) onChange(u.state.doc.toString()); }),
    ],
  });
  return {
    text: () => view.state.doc.toString(),
    set: (text) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } }),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
