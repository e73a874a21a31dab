export interface RouteEntry {
  method: string;
  path: string;
}

/** Walks Express's router tree: every route with its full path (what the app really serves, not what it declares). */
export function routesOf(stack: any[], prefix = ''): RouteEntry[] {
  return stack.flatMap((layer: any): RouteEntry[] => {
    const paths: string[] = Array.isArray(layer.rawPath) ? layer.rawPath : [layer.rawPath ?? ''];
    if (layer.route) {
      // A router's '/' route answers at the mount path itself.
      return paths.flatMap((p) => Object.keys(layer.route.methods).map((m) => ({ method: m.toUpperCase(), path: `${prefix}${p}`.replace(/(.)\/$/, '$1') })));
    }
    if (layer.handle?.stack) return paths.flatMap((p) => routesOf(layer.handle.stack, `${prefix}${p === '/' ? '' : p}`));
    return [];
  });
}
