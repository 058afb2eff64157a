// Signing keys. Logto generates an EC P-384 key per tenant, so ES384 by default.
// `alsoRsa` adds an RS256 key to the JWKS; `keysFile` keeps the private JWKS across restarts.
import crypto from 'node:crypto';
import fs from 'node:fs';

function generate(alg) {
  const { privateKey } = alg === 'ES384'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomBytes(12).toString('base64url'), alg, use: 'sig' };
}

/** @returns {{keys: object[]}} a private JWKS holding an ES384 key and, if asked, an RS256 key */
export function loadSigningKeys({ keysFile = null, alsoRsa = false } = {}) {
  let keys = [];
  if (keysFile && fs.existsSync(keysFile)) {
    const parsed = JSON.parse(fs.readFileSync(keysFile, 'utf8'));
    keys = Array.isArray(parsed) ? parsed : parsed.keys;
  }
  const wanted = alsoRsa ? ['ES384', 'RS256'] : ['ES384'];
  const missing = wanted.filter((alg) => !keys.some((k) => k.alg === alg));
  keys.push(...missing.map(generate));
  // The ES384 key comes first: oidc-provider signs with the first key that fits.
  keys.sort((a, b) => (a.alg === 'ES384' ? 0 : 1) - (b.alg === 'ES384' ? 0 : 1));
  if (keysFile && missing.length) fs.writeFileSync(keysFile, JSON.stringify({ keys }), { mode: 0o600 });
  return { keys };
}
