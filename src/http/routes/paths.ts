// The API's paths, in one place: the app mounts its route groups here, and the fault switch accepts these (or '*')
// as the route a fault applies to, so a remounted route cannot silently stop matching its faults.
export const USERS_PATH = '/api/users';
export const ORDERS_PATH = '/api/orders';
export const FAULT_ROUTES = [USERS_PATH, ORDERS_PATH, '*'] as const;
