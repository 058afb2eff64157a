// Tiny server-rendered HTML helpers (no client-side JS except the logout auto-submit).
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = 'body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}'
  + 'input,button{font-size:1rem;padding:.4rem;margin:.3rem 0}.error{color:#b00020}label{display:block}';

export const page = (title, body) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>`;

/** Error element pages use: class "error", the Logto error code in data-code and in the text. */
export const errorBlock = (err) => (err
  ? `<p class="error" role="alert" data-code="${esc(err.code)}">${esc(err.code)}${err.message ? `: ${esc(err.message)}` : ''}</p>`
  : '');

export function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

export function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export async function readForm(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
