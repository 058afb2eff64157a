// Parity with the official @logto/chrome-extension (pinned devDependency):
// runtime named exports, enum members, LogtoClient's public members, the
// type-level exports, and `tsc --strict` on a tutorial-style file and one
// using the less common exports, against both packages' types. Then the same
// checks on scratch copies of the shim with one thing removed, to show that
// they fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  OFFICIAL_DTS, OFFICIAL_JS, compareClientMembers, compareRuntimeExports, compareTypeExports, compileAgainst,
  importFresh,
} from './compare.js';
import { FakeBrowser } from '../fakes.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, '..', '..', 'src');
const FIXTURES = ['tutorial.ts', 'less-common.ts'].map((f) => join(HERE, 'fixtures', f));
const CONFIG = { endpoint: 'https://tenant.logto.app', appId: 'app' };

/** The SDK's client needs chrome.storage.local to construct (it loads its token map). */
async function officialClient(official) {
  const saved = globalThis.chrome;
  globalThis.chrome = { storage: { local: { get: async () => ({}), set: async () => {}, remove: async () => {} } } };
  try {
    return new official.default(CONFIG);
  } finally {
    globalThis.chrome = saved;
  }
}

function shimClient(shim) {
  return new shim.default(CONFIG, { api: new FakeBrowser() });
}

async function allProblems(srcDir) {
  const official = await import(OFFICIAL_JS);
  const shim = await importFresh(join(srcDir, 'index.js'));
  return [
    ...compareRuntimeExports(official, shim),
    ...compareClientMembers(await officialClient(official), shimClient(shim)).problems,
    ...compareTypeExports(join(srcDir, 'index.d.ts')).problems,
    ...compileAgainst(FIXTURES, join(srcDir, 'index.d.ts')),
  ];
}

test('every runtime named export of the SDK, with the same kind, enum members and values', async () => {
  const official = await import(OFFICIAL_JS);
  const shim = await import('../../src/index.js');
  assert.ok(Object.keys(official).length >= 20, 'the SDK was enumerated');
  assert.deepEqual(compareRuntimeExports(official, shim), []);
});

test('every public LogtoClient member of the SDK (own and inherited), with the same kind', async () => {
  const official = await import(OFFICIAL_JS);
  const shim = await import('../../src/index.js');
  const { names, problems } = compareClientMembers(await officialClient(official), shimClient(shim));
  assert.deepEqual(problems, []);
  for (const name of ['signIn', 'getAccessToken', 'adapter', 'jwtVerifier', 'setJwtVerifier', 'logtoConfig']) {
    assert.ok(names.includes(name), `${name} was enumerated`);
  }
  for (const name of ['setIdToken', 'accessTokenMap', 'getSignInSession']) {
    assert.ok(!names.includes(name), `${name} is private/protected in the SDK and not required`);
  }
});

test('every type-level export of the SDK\'s .d.ts is exported by the shim\'s', () => {
  const { names, problems } = compareTypeExports(join(SRC, 'index.d.ts'));
  assert.deepEqual(problems, []);
  for (const name of ['Storage', 'ClientAdapter', 'LogtoErrorCode', 'UserInfoResponse']) assert.ok(names.includes(name));
});

test('tsc --strict: the fixtures compile against the SDK\'s types (sanity) with 0 errors', () => {
  assert.deepEqual(compileAgainst(FIXTURES, OFFICIAL_DTS), []);
});

test('tsc --strict: the fixtures compile against the shim\'s types with 0 errors', () => {
  assert.deepEqual(compileAgainst(FIXTURES, join(SRC, 'index.d.ts')), []);
});

// ------------------------------------------------- the checks can fail

/** A scratch copy of src/ with `edit(file, text) → text` applied. */
function scratchCopy(edits) {
  const dir = mkdtempSync(join(tmpdir(), 'shim-parity-'));
  cpSync(SRC, dir, { recursive: true });
  for (const [file, from, to] of edits) {
    const path = join(dir, file);
    const text = readFileSync(path, 'utf8');
    assert.ok(text.includes(from), `${file} contains ${from}`);
    writeFileSync(path, text.replace(from, to));
  }
  return dir;
}

const MUTATIONS = [
  ['a runtime export (isLogtoRequestError)', [['index.js', 'OidcError, isLogtoRequestError,', 'OidcError,']],
    /runtime export isLogtoRequestError is missing/],
  ['an enum member (Prompt.None)', [['constants.js', "None: 'none',", '']], /Prompt\.None is missing/],
  ['a client method (setJwtVerifier)', [['index.js', '  setJwtVerifier(buildJwtVerifier) {', '  notSetJwtVerifier(buildJwtVerifier) {']],
    /LogtoClient\.setJwtVerifier is missing/],
  ['a type export (ClientAdapter)', [['index.d.ts', 'export type ClientAdapter = {', 'export type ClientAdapterRenamed = {']],
    /type-level export ClientAdapter is missing/],
  ['a type shape (AccessTokenClaims.aud)', [['index.d.ts', '  aud?: string;\n  exp?: number;', '  aud?: string[];\n  exp?: number;']],
    /less-common\.ts:\d+ Type 'string\[\] \| undefined' is not assignable/],
];

for (const [what, edits, expected] of MUTATIONS) {
  test(`the parity checks fail when the shim lacks ${what}`, async () => {
    const dir = scratchCopy(edits);
    try {
      const problems = await allProblems(dir);
      assert.ok(problems.some((p) => expected.test(p)), `expected ${expected} in:\n${problems.join('\n')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('an unmodified scratch copy passes every check (the mutation tests compare like with like)', async () => {
  const dir = scratchCopy([]);
  try {
    assert.deepEqual(await allProblems(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
