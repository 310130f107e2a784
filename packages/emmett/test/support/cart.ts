import { type Command, type Event, IllegalStateError } from '@event-driven-io/emmett'

// A shopping cart in the shape of Emmett's own examples: a decider (decide, evolve, initialState).
export type ItemAdded = Event<'ItemAdded', { sku: string; qty: number }>
export type CartConfirmed = Event<'CartConfirmed', { items: number }>
export type CartEvent = ItemAdded | CartConfirmed

export type AddItem = Command<'AddItem', { sku: string; qty: number }>
export type ConfirmCart = Command<'ConfirmCart', Record<string, never>>
export type CartCommand = AddItem | ConfirmCart

export interface Cart {
  readonly status: 'open' | 'confirmed'
  readonly items: number
}

export const initialState = (): Cart => ({ status: 'open', items: 0 })

export function evolve(cart: Cart, event: CartEvent): Cart {
  switch (event.type) {
    case 'ItemAdded':
      return { ...cart, items: cart.items + event.data.qty }
    case 'CartConfirmed':
      return { ...cart, status: 'confirmed' }
  }
}

export function decide(command: CartCommand, cart: Cart): CartEvent | CartEvent[] {
  if (cart.status === 'confirmed') throw new IllegalStateError('the cart is confirmed')
  switch (command.type) {
    case 'AddItem':
      return { type: 'ItemAdded', data: command.data }
    case 'ConfirmCart':
      if (cart.items === 0) throw new IllegalStateError('the cart is empty')
      return { type: 'CartConfirmed', data: { items: cart.items } }
  }
}

export const addItem = (sku: string, qty = 1): AddItem => ({ type: 'AddItem', data: { sku, qty } })
export const confirm: ConfirmCart = { type: 'ConfirmCart', data: {} }
