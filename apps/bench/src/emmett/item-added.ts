import type { Event } from '@event-driven-io/emmett'

/** The one event both sides of every Emmett case write and read: a shopping cart's line. */
export type ItemAdded = Event<'ItemAdded', { sku: string; qty: number; price: number; memo: string }>

export const ITEM_ADDED: ItemAdded = {
  type: 'ItemAdded',
  data: { sku: 'sku-00000001', qty: 1, price: 1299, memo: 'x'.repeat(32) },
}

/** `count` copies of {@link ITEM_ADDED}, for one append of a batch. */
export const itemsAdded = (count: number): ItemAdded[] => Array.from({ length: count }, () => ITEM_ADDED)
