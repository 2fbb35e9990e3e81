// A minimal Backstage backend (new backend system) serving only the catalog, for
// bench/backstage/run.sh. Plain CommonJS, no build step:
//
//   node backend.js --config app-config.yaml
//
// @backstage/backend-defaults supplies the root services (config, logging, HTTP router,
// database, auth, permissions, discovery, ...); @backstage/plugin-catalog-backend is the
// catalog with its built-in processors, among them the one that reads `file` locations.
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend').default);
backend.start().catch(err => {
  console.error('backend failed to start:', err);
  process.exit(1);
});
