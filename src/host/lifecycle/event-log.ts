/**
 * State-change events: appended to the inventory's history (inside the caller's transaction) and,
 * once committed, published to live subscribers (the /v1/events stream). Subscribers get events in
 * id order; a slow subscriber is the stream's problem (it buffers or drops the connection).
 */
import type { Inventory } from '../inventory/inventory.js';
import type { EventRecord } from '../inventory/vm-record.js';

export type EventListener = (e: EventRecord) => void;

export class EventLog {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly inventory: Inventory) {}

  /** Records the event; call inside an inventory transaction, then publish() after it commits. */
  record(kind: string, vm: { id: string; name: string } | null, data: Record<string, unknown>): EventRecord {
    return this.inventory.appendEvent(kind, vm, data);
  }

  publish(...events: EventRecord[]): void {
    for (const e of events) for (const l of this.listeners) l(e);
  }

  /** Records and publishes in one go, for events that are a change of their own. */
  emit(kind: string, vm: { id: string; name: string } | null, data: Record<string, unknown>): EventRecord {
    const e = this.inventory.transaction(() => this.record(kind, vm, data));
    this.publish(e);
    return e;
  }

  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
