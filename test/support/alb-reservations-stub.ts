/**
 * What the unit tests of the deployment API and workflow steps load in place of
 * lambdas/deployments/alb-reservations.ts (`vi.mock(path, () => import("../support/alb-reservations-stub.ts"))`):
 * every reservation call is accepted and reserves nothing. The reservations themselves are
 * test/deployments/alb-reservations.test.ts's subject, against dynalite.
 */
export const reserveAlb = async (): Promise<undefined> => undefined;
export const restoreAlbReservation = async (): Promise<undefined> => undefined;
export const settleAlbReservation = async (): Promise<undefined> => undefined;
export const releaseAlbReservation = async (): Promise<undefined> => undefined;
