#!/usr/bin/env node
// Build the tutorial extension (../tutorial: the Logto tutorial's code with
// only the import line changed) with a real bundler, the way an extension
// project that follows the README does:
//
//   node example/bundlers/build.mjs --bundler rollup|vite|webpack --out <dir>
//        [--endpoint URL] [--app-id ID] [--firefox]
//
// The placeholders `<your-logto-endpoint>` / `<your-logto-app-id>` are filled
// in as the tutorial says to. Each bundler gets the settings the Logto
// tutorial warns about: ES module output (the service worker is
// `"type": "module"`), a browser target, the package's `browser`/`import`
// conditions, and no Node polyfills. Needs `npm ci` in this folder.

import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const TUTORIAL = join(HERE, '..', 'tutorial');
export const BUNDLERS = ['rollup', 'vite', 'webpack'];
export const FIREFOX_ID = 'tutorial@logto-companion.test';
const ENTRIES = ['service-worker', 'popup'];

const USAGE = 'usage: node example/bundlers/build.mjs --bundler rollup|vite|webpack --out <dir> '
  + '[--endpoint URL] [--app-id ID] [--firefox]';

export function parseArgs(argv) {
  const o = { endpoint: 'http://127.0.0.1:3001', appId: 'native-test-app', firefox: false };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '--firefox') o.firefox = true;
    else if (a === '--bundler') o.bundler = argv[++i];
    else if (a === '--out') o.out = resolve(argv[++i]);
    else if (a === '--endpoint') o.endpoint = argv[++i];
    else if (a === '--app-id') o.appId = argv[++i];
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (!BUNDLERS.includes(o.bundler)) throw new Error(`--bundler must be one of ${BUNDLERS.join(', ')}\n${USAGE}`);
  if (!o.out) throw new Error(`--out is required\n${USAGE}`);
  return o;
}

/** The tutorial's manifest; for Firefox an add-on id and `background.scripts` (no service workers there). */
export function manifest({ firefox }) {
  const m = JSON.parse(readFileSync(join(TUTORIAL, 'manifest.json'), 'utf8'));
  if (!firefox) return m;
  const { key: _key, background, ...rest } = m;
  return {
    ...rest,
    browser_specific_settings: { gecko: { id: FIREFOX_ID, strict_min_version: '115.0' } },
    background: { scripts: [background.service_worker], type: 'module' },
  };
}

/**
 * Copy the tutorial sources into a staging folder inside this project (so
 * the bare `@logto-companion/extension-shim` import resolves from its
 * node_modules) with the two placeholders filled in.
 */
function stage(o) {
  const dir = join(HERE, '.stage', `${o.bundler}${o.firefox ? '-firefox' : ''}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const entry of ENTRIES) {
    const source = readFileSync(join(TUTORIAL, `${entry}.js`), 'utf8')
      .replaceAll('<your-logto-endpoint>', o.endpoint)
      .replaceAll('<your-logto-app-id>', o.appId);
    writeFileSync(join(dir, `${entry}.js`), source);
  }
  return dir;
}

const input = (dir) => Object.fromEntries(ENTRIES.map((e) => [e, join(dir, `${e}.js`)]));

async function rollupBuild(dir, out) {
  const { rollup } = await import('rollup');
  const { nodeResolve } = await import('@rollup/plugin-node-resolve');
  const bundle = await rollup({
    input: input(dir),
    plugins: [nodeResolve({ browser: true, exportConditions: ['browser', 'import'], preferBuiltins: false })],
    onwarn(warning) { throw new Error(`rollup: ${warning.message}`); },
  });
  await bundle.write({ dir: out, format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' });
  await bundle.close();
}

async function viteBuild(dir, out) {
  const { build } = await import('vite');
  await build({
    configFile: false,
    root: dir,
    logLevel: 'warn',
    publicDir: false,
    resolve: { conditions: ['browser', 'import'] },
    build: {
      outDir: out,
      emptyOutDir: false,
      target: 'es2022',
      minify: false,
      modulePreload: false,
      rollupOptions: {
        input: input(dir),
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  });
}

async function webpackBuild(dir, out) {
  const { default: webpack } = await import('webpack');
  const compiler = webpack({
    mode: 'production',
    context: dir,
    entry: input(dir),
    target: ['web', 'es2022'],
    devtool: false,
    experiments: { outputModule: true },
    output: { path: out, filename: '[name].js', module: true, chunkFormat: 'module', publicPath: '', clean: false },
    // The tutorial's warning: no Node built-ins or polyfills in a browser build.
    resolve: { conditionNames: ['browser', 'import'], fallback: {} },
    node: false,
    optimization: { minimize: false, splitChunks: false, runtimeChunk: false },
  });
  await new Promise((resolvePromise, reject) => {
    compiler.run((error, stats) => {
      compiler.close(() => {});
      if (error) return reject(error);
      if (stats.hasErrors() || stats.hasWarnings()) {
        return reject(new Error(`webpack: ${stats.toString({ all: false, errors: true, warnings: true })}`));
      }
      return resolvePromise();
    });
  });
}

const RUN = { rollup: rollupBuild, vite: viteBuild, webpack: webpackBuild };

export async function build(o) {
  rmSync(o.out, { recursive: true, force: true });
  mkdirSync(o.out, { recursive: true });
  const dir = stage(o);
  await RUN[o.bundler](dir, o.out);
  cpSync(join(TUTORIAL, 'popup.html'), join(o.out, 'popup.html'));
  writeFileSync(join(o.out, 'manifest.json'), `${JSON.stringify(manifest(o), null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  return o.out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const o = parseArgs(process.argv.slice(2));
    await build(o);
    console.log(`${o.bundler}: wrote the ${o.firefox ? 'Firefox' : 'Chromium'} tutorial extension to ${o.out}`);
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
}
