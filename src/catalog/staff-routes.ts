import type { App } from '../platform/http/server.ts';
import { registerCategoryRoutes } from './category-routes.ts';
import { registerCsvRoutes } from './csv-routes.ts';
import type { CatalogCore } from './index.ts';
import { registerProductRoutes } from './product-routes.ts';
import { registerStockRoutes } from './stock-routes.ts';

export { actorOf, expectedVersion, tenantOf } from './route-kit.ts';

/*
 * Staff's catalog API (issue 11) under `/api/v1/tenants/:tenant/catalog/…`: products and variants
 * with optimistic concurrency, categories, stock with its ledger, locations, low-stock alerts and
 * the storefront settings. Thin: validate, call the catalog, respond.
 */
export function registerStaffCatalogRoutes(app: App, deps: { catalog: CatalogCore }) {
  registerProductRoutes(app, deps);
  registerCategoryRoutes(app, deps);
  registerStockRoutes(app, deps);
  registerCsvRoutes(app, deps);
}
