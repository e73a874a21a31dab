/**
 * Atlassian Document Format for plain text. Text nodes are never interpreted as markup, so user values such
 * as `x[link](http://evil)` stay text. Each line becomes a paragraph; blank lines separate nothing extra.
 */
export interface AdfDoc {
  type: 'doc';
  version: 1;
  content: Array<{ type: 'paragraph'; content: Array<{ type: 'text'; text: string }> }>;
}

export function textToAdf(text: string): AdfDoc {
  const paragraphs = text.split(/\r?\n/).map((line) => ({
    type: 'paragraph' as const,
    content: line.length ? [{ type: 'text' as const, text: line }] : [],
  }));
  return { type: 'doc', version: 1, content: paragraphs };
}

export function adfToText(doc: unknown): string {
  if (!doc || typeof doc !== 'object') return typeof doc === 'string' ? doc : '';
  const node = doc as { type?: string; text?: string; content?: unknown[] };
  if (node.type === 'text') return node.text ?? '';
  const inner = (node.content ?? []).map(adfToText);
  return node.type === 'doc' ? inner.join('\n') : inner.join('');
}
