// The tutorial extension built by Rollup, Vite and webpack
// (example/bundlers/build.mjs), for Chromium and Firefox: the output is what
// an MV3 extension needs — ES modules whose imports are files of the build,
// no Node built-ins, no Node polyfills, no CommonJS — and the README's
// manifest. (tests/e2e and tests/e2e-firefox load these builds in real
// browsers and sign in with them.) Needs `npm ci` in example/bundlers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUNDLERS_DIR = join(HERE, '..', '..', 'example', 'bundlers');
const scratch = mkdtempSync(join(tmpdir(), 'shim-bundles-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const NODE_ONLY = [
  [/\brequire\s*\(/, 'a CommonJS require()'],
  [/\bfrom\s*["'](?:node:)?(?:fs|path|crypto|buffer|stream|util|events|os|url|process)["']/, 'an import of a Node built-in'],
  [/\bprocess\.(?:env|nextTick|versions)\b/, 'process.* (a Node global)'],
  [/\bBuffer\.from\b/, 'Buffer (a Node global or polyfill)'],
  [/\b__dirname\b|\b__filename\b/, '__dirname/__filename'],
];

/** Static `import … from './x.js'` / `import './x.js'` specifiers of an ES module. */
const importsOf = (code) => [...code.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm)].map((m) => m[1]);

if (!existsSync(join(BUNDLERS_DIR, 'node_modules'))) {
  test('example/bundlers has its dependencies', () => {
    assert.fail(`run \`cd ${BUNDLERS_DIR} && npm ci\` first (scripts/test-shim-extras does it)`);
  });
} else {
  const { build, FIREFOX_ID } = await import(join(BUNDLERS_DIR, 'build.mjs'));
  const tutorialSource = (f) => readFileSync(join(BUNDLERS_DIR, '..', 'tutorial', f), 'utf8');

  test('the tutorial sources are the tutorial\'s, with only the import line changed', () => {
    for (const f of ['service-worker.js', 'popup.js']) {
      const source = tutorialSource(f);
      assert.match(source, /^import LogtoClient from '@logto-companion\/extension-shim';$/m);
      assert.doesNotMatch(source, /@logto\/chrome-extension/);
    }
    assert.match(tutorialSource('service-worker.js'), /chrome\.identity\.getRedirectURL\('\/callback'\)/);
    assert.match(tutorialSource('service-worker.js'), /logtoClient\.signOut\(redirectUri\)\.finally\(sendResponse\)/);
  });

  for (const bundler of ['rollup', 'vite', 'webpack']) {
    for (const firefox of [false, true]) {
      test(`${bundler}${firefox ? ' (Firefox)' : ''}: ES modules, no Node built-ins or polyfills, the README manifest`, async () => {
        const out = join(scratch, `${bundler}${firefox ? '-ff' : ''}`);
        await build({ bundler, out, endpoint: 'http://127.0.0.1:3001', appId: 'native-test-app', firefox });
        const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
        assert.deepEqual(manifest.permissions, ['identity', 'nativeMessaging']);
        assert.equal(manifest.host_permissions, undefined);
        if (firefox) {
          assert.deepEqual(manifest.background, { scripts: ['service-worker.js'], type: 'module' });
          assert.equal(manifest.browser_specific_settings.gecko.id, FIREFOX_ID);
        } else {
          assert.deepEqual(manifest.background, { service_worker: 'service-worker.js', type: 'module' });
        }
        const files = readdirSync(out).filter((f) => f.endsWith('.js'));
        assert.ok(files.includes('service-worker.js') && files.includes('popup.js'), files.join(', '));
        let all = '';
        for (const f of files) {
          const code = readFileSync(join(out, f), 'utf8');
          all += code;
          for (const [re, what] of NODE_ONLY) assert.doesNotMatch(code, re, `${f} contains ${what}`);
          for (const spec of importsOf(code)) {
            assert.match(spec, /^\.\.?\//, `${f} imports ${spec}: only files of the build resolve in an extension`);
            assert.ok(existsSync(join(out, spec)), `${f} imports ${spec}, which the build did not write`);
          }
        }
        // The shim is in the bundle, the placeholders are filled in.
        assert.match(all, /connectNative/);
        assert.match(all, /http:\/\/127\.0\.0\.1:3001/);
        assert.doesNotMatch(all, /<your-logto-endpoint>/);
      });
    }
  }
}
