// Loads and checks the IdP's JSON config. A config file only needs the top-level keys it changes:
// every key it omits comes from config/default.json (`ttl` and `verificationCode` merge per field).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../config/default.json', import.meta.url));

const TOP_LEVEL_KEYS = new Set(['clients', 'users', 'resources', 'organizations', 'ttl', 'verificationCode',
  'sms', 'keysFile', 'alsoRsa', 'idTokenAlg', 'testApi', 'par', 'deviceFlow', 'endSession', 'revocationAuth',
  'unknownScopes', 'deviceInterval', 'deviceSlowDown', '$comment']);
const ONE_OF = {
  par: ['enabled', 'disabled', 'required'],
  revocationAuth: ['public', 'confidential'],
  unknownScopes: ['reject', 'ignore'],
};
const SIGNING_ALGS = ['ES384', 'RS256'];

export class ConfigError extends Error {}

/** '+1 (555) 123-4567' -> '15551234567' (Logto stores phone numbers as digits). */
export const phoneDigits = (p) => String(p ?? '').replace(/\D/g, '');
export const isPhone = (p) => /^\+?[\d\s().-]{6,24}$/.test(String(p ?? '').trim())
  && phoneDigits(p).length >= 6 && phoneDigits(p).length <= 15;

export function readConfigFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${e.code ?? e.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${e.message}`);
  }
}

/** Merge a (partial) config over the defaults, resolve relative paths, check every field. */
export function resolveConfig(partial = {}, { baseDir = process.cwd() } = {}) {
  const defaults = readConfigFile(DEFAULT_CONFIG_PATH);
  for (const key of Object.keys(partial)) {
    if (!TOP_LEVEL_KEYS.has(key)) throw new ConfigError(`unknown config field "${key}"`);
  }
  const config = {
    ...defaults,
    ...partial,
    ttl: { ...defaults.ttl, ...partial.ttl },
    verificationCode: { ...defaults.verificationCode, ...partial.verificationCode },
  };
  if (config.keysFile) config.keysFile = path.resolve(baseDir, config.keysFile);
  check(config);
  return config;
}

export function loadConfig(file) {
  const partial = file ? readConfigFile(file) : {};
  return resolveConfig(partial, { baseDir: file ? path.dirname(path.resolve(file)) : process.cwd() });
}

function check(config) {
  const fail = (msg) => { throw new ConfigError(`invalid config: ${msg}`); };
  const posInt = (v, name) => { if (!Number.isFinite(v) || v <= 0) fail(`${name} must be a positive number of seconds`); };

  if (!Array.isArray(config.clients) || config.clients.length === 0) fail('clients must be a non-empty array');
  const ids = new Set();
  for (const c of config.clients) {
    if (typeof c?.client_id !== 'string' || !c.client_id) fail('every client needs a client_id');
    if (ids.has(c.client_id)) fail(`duplicate client_id ${c.client_id}`);
    ids.add(c.client_id);
    if (!Array.isArray(c.redirect_uris) || c.redirect_uris.length === 0) fail(`client ${c.client_id}: redirect_uris must be a non-empty array`);
  }
  if (!Array.isArray(config.users)) fail('users must be an array');
  for (const u of config.users) if (!isPhone(u?.phone)) fail(`user ${JSON.stringify(u)}: phone must be a phone number`);
  if (!Array.isArray(config.resources)) fail('resources must be an array');
  for (const r of config.resources) {
    if (typeof r?.indicator !== 'string' || !URL.canParse(r.indicator)) fail(`resource indicator must be an absolute URI: ${JSON.stringify(r)}`);
    if (!Array.isArray(r.scopes)) fail(`resource ${r.indicator}: scopes must be an array`);
    if (r.accessTokenTtl !== undefined) posInt(r.accessTokenTtl, `resource ${r.indicator} accessTokenTtl`);
  }
  if (!Array.isArray(config.organizations)) fail('organizations must be an array');
  for (const o of config.organizations) {
    if (typeof o?.id !== 'string' || !o.id) fail('every organization needs an id');
    if (!Array.isArray(o.members)) fail(`organization ${o.id}: members must be an array of phone numbers`);
    for (const m of o.members) if (!isPhone(m)) fail(`organization ${o.id}: member ${m} is not a phone number`);
    if (o.scopes !== undefined && !Array.isArray(o.scopes)) fail(`organization ${o.id}: scopes must be an array`);
  }
  for (const k of ['accessToken', 'idToken', 'refreshToken', 'session']) posInt(config.ttl[k], `ttl.${k}`);
  posInt(config.verificationCode.ttl, 'verificationCode.ttl');
  posInt(config.verificationCode.maxAttempts, 'verificationCode.maxAttempts');
  if (config.sms !== null && (typeof config.sms !== 'object' || Array.isArray(config.sms))) fail('sms must be null or {twilio, apiBase?}');
  if (config.sms && !config.sms.twilio) fail('sms.twilio (the Twilio connector config) is required when sms is set');
  if (config.sms?.apiBase !== undefined && !URL.canParse(config.sms.apiBase)) fail('sms.apiBase must be a URL');
  if (config.keysFile !== null && typeof config.keysFile !== 'string') fail('keysFile must be null or a path');
  if (typeof config.alsoRsa !== 'boolean') fail('alsoRsa must be true or false');
  if (!SIGNING_ALGS.includes(config.idTokenAlg)) fail(`idTokenAlg must be one of ${SIGNING_ALGS.join(', ')}`);
  for (const [key, values] of Object.entries(ONE_OF)) {
    if (!values.includes(config[key])) fail(`${key} must be one of ${values.map((v) => `"${v}"`).join(', ')} (got ${JSON.stringify(config[key])})`);
  }
  posInt(config.deviceInterval, 'deviceInterval');
  for (const key of ['deviceFlow', 'endSession', 'deviceSlowDown']) if (typeof config[key] !== 'boolean') fail(`${key} must be true or false`);
}
