// Bundles the npm ZAF SDK into one browser script, the shape Zendesk's CDN serves
// (zaf_sdk.min.js defining the global ZAFClient), so tests run the SDK's real postMessage code.
import { build } from 'esbuild';

await build({
  entryPoints: ['node_modules/zendesk_app_framework_sdk/lib/index.js'],
  outfile: 'dist/zaf_sdk.min.js',
  bundle: true,
  minify: true,
  format: 'iife',
  globalName: 'ZAFClient',
  target: 'es2017',
  logLevel: 'warning',
});
