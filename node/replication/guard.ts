/** The store guard with no rules beyond the signature checks: what a node runs without room rules. */

import type { StoreGuard } from './context.js'

export const openGuard: StoreGuard = {
  checkPut: () => {},
  checkRead: () => {}
}
