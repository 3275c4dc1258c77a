/** The dashboard's stylesheet, second half: the key lookup, the partition grid and its legend, Raft, events. */

export const STYLE_CSS_VIEWS = `.lookup {
  display: flex;
  gap: 8px;
}
.lookup input {
  width: 260px;
  padding: 7px 11px;
  border-radius: 8px;
  border: 1px solid var(--line);
  background: var(--panel-2);
  color: var(--text);
  font: inherit;
  font-family: var(--mono);
  font-size: 13px;
  outline: none;
}
.lookup input:focus {
  border-color: var(--accent);
  box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 18%, transparent);
}
.lookup button {
  padding: 7px 14px;
  border-radius: 8px;
  border: 0;
  background: var(--accent);
  color: #fff;
  font: inherit;
  font-weight: 600;
  cursor: pointer;
}
.lookup button:hover {
  filter: brightness(1.08);
}
.lookup-result {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 8px;
  padding: 9px 12px;
  margin-bottom: 12px;
  border-radius: 8px;
  background: color-mix(in srgb, var(--accent) 8%, var(--panel));
  border: 1px solid color-mix(in srgb, var(--accent) 25%, transparent);
}
.lookup-result.error {
  background: var(--bad-bg);
  border-color: transparent;
  color: var(--bad);
}
.lookup-result .arrow {
  color: var(--faint);
}
.owner {
  display: inline-flex;
  align-items: center;
  gap: 5px;
  padding: 1px 8px;
  border-radius: 6px;
  background: var(--panel);
  border: 1px solid var(--line);
  font-size: 12.5px;
}
.owner i {
  width: 8px;
  height: 8px;
  border-radius: 2px;
  background: var(--c);
}
.owner.primary {
  font-weight: 650;
}
.owner.unhealthy {
  color: var(--bad);
  border-color: color-mix(in srgb, var(--bad) 45%, var(--line));
}

.grid {
  display: grid;
  grid-template-columns: repeat(auto-fill, minmax(var(--cell, 46px), 1fr));
  gap: 4px;
}
.grid.dense {
  --cell: 16px;
  gap: 2px;
}
.cell {
  position: relative;
  aspect-ratio: 1;
  border-radius: 6px;
  background: var(--c, var(--panel-2));
  color: rgba(255, 255, 255, 0.92);
  font-size: 11px;
  font-weight: 600;
  display: flex;
  align-items: flex-start;
  justify-content: flex-start;
  padding: 3px 4px;
  cursor: default;
  transition:
    transform 0.12s,
    opacity 0.2s,
    box-shadow 0.2s;
  font-variant-numeric: tabular-nums;
  overflow: hidden;
}
.grid.dense .cell {
  border-radius: 3px;
  padding: 0;
  font-size: 0;
}
.cell:hover {
  transform: scale(1.12);
  z-index: 2;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.2);
}
.cell .reps {
  position: absolute;
  left: 4px;
  right: 4px;
  bottom: 4px;
  display: flex;
  gap: 2px;
}
.cell .reps i {
  flex: 1;
  height: 4px;
  border-radius: 2px;
  background: var(--r);
  box-shadow: 0 0 0 1px rgba(255, 255, 255, 0.55);
}
.grid.dense .cell .reps {
  display: none;
}
.cell.unassigned {
  background: repeating-linear-gradient(45deg, var(--panel-2), var(--panel-2) 4px, var(--line) 4px, var(--line) 8px);
  color: var(--faint);
}
.cell[data-risk]::after {
  content: "";
  position: absolute;
  top: 4px;
  right: 4px;
  width: 8px;
  height: 8px;
  border-radius: 50%;
  background: #b45309;
  box-shadow:
    0 0 0 1.5px #fff,
    0 0 0 2.5px rgba(0, 0, 0, 0.2);
}
.cell[data-risk="primary"]::after,
.cell[data-risk="orphan"]::after {
  background: var(--bad);
}
.grid.dense .cell[data-risk]::after {
  top: 1px;
  right: 1px;
  width: 5px;
  height: 5px;
  box-shadow: none;
}
.cell[data-risk="replica"] {
  box-shadow: inset 0 0 0 2px var(--warn);
}
.cell[data-risk="primary"] {
  box-shadow: inset 0 0 0 2px var(--bad);
  background-image: repeating-linear-gradient(
    45deg,
    rgba(255, 255, 255, 0),
    rgba(255, 255, 255, 0) 5px,
    rgba(255, 255, 255, 0.35) 5px,
    rgba(255, 255, 255, 0.35) 9px
  );
}
.cell[data-risk="orphan"] {
  background: repeating-linear-gradient(45deg, var(--bad), var(--bad) 5px, #f87171 5px, #f87171 10px);
  box-shadow: inset 0 0 0 2px var(--bad);
}
.cell.moved {
  animation: moved 1.6s ease-out;
}
@keyframes moved {
  0% {
    box-shadow: 0 0 0 4px var(--accent);
    transform: scale(1.15);
  }
  100% {
    box-shadow: 0 0 0 0 transparent;
    transform: none;
  }
}
.grid.focus .cell:not(.mine) {
  opacity: 0.22;
}
.cell.hit {
  outline: 3px solid var(--text);
  outline-offset: 2px;
  z-index: 3;
  transform: scale(1.12);
}
.legend {
  display: flex;
  flex-wrap: wrap;
  gap: 6px 16px;
  margin-top: 14px;
  color: var(--muted);
  font-size: 12px;
}
.legend span {
  display: inline-flex;
  align-items: center;
  gap: 6px;
}
.legend i {
  width: 12px;
  height: 12px;
  border-radius: 3px;
  background: var(--c);
  display: inline-block;
}
.legend i.risk-replica {
  background: radial-gradient(circle at 70% 30%, var(--warn) 2.5px, transparent 3px), var(--panel-2);
  box-shadow: inset 0 0 0 2px var(--warn);
}
.legend i.risk-primary {
  background: radial-gradient(circle at 70% 30%, var(--bad) 2.5px, transparent 3px), var(--panel-2);
  box-shadow: inset 0 0 0 2px var(--bad);
}
.legend i.risk-orphan {
  background: repeating-linear-gradient(45deg, var(--bad), var(--bad) 3px, #f87171 3px, #f87171 6px);
}

.kv {
  display: grid;
  grid-template-columns: repeat(3, 1fr);
  gap: 10px;
  margin: 0 0 12px;
}
.kv div {
  background: var(--panel-2);
  border-radius: 8px;
  padding: 8px 10px;
  min-width: 0;
}
.kv dt {
  color: var(--muted);
  font-size: 11.5px;
}
.kv dd {
  margin: 0;
  font-weight: 650;
  font-size: 16px;
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
  overflow: hidden;
  text-overflow: ellipsis;
}
.progress {
  width: 100%;
  border-collapse: collapse;
  font-size: 12.5px;
}
.progress th {
  text-align: left;
  color: var(--muted);
  font-weight: 500;
  font-size: 11.5px;
  padding: 4px 6px;
  border-bottom: 1px solid var(--line);
}
.progress td {
  padding: 6px 6px;
  border-bottom: 1px solid var(--line);
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
}
.progress tr:last-child td {
  border-bottom: 0;
}
.progress .bar {
  width: 100%;
  min-width: 60px;
  height: 6px;
  border-radius: 6px;
  background: var(--panel-2);
  overflow: hidden;
}
.progress .bar i {
  display: block;
  height: 100%;
  background: var(--c, var(--accent));
  border-radius: 6px;
}
.progress .lagging {
  color: var(--warn);
  font-weight: 600;
}
.progress .stale {
  color: var(--bad);
  font-weight: 600;
}
.note {
  color: var(--muted);
  font-size: 12.5px;
  margin: 0;
}
.note a {
  color: var(--accent);
}

.events-panel {
  display: flex;
  flex-direction: column;
}
.events {
  list-style: none;
  margin: 0;
  padding: 0;
  max-height: 560px;
  overflow: auto;
}
.event {
  display: grid;
  grid-template-columns: 10px 1fr;
  gap: 10px;
  padding: 8px 2px;
  border-bottom: 1px solid var(--line);
}
.event:last-child {
  border-bottom: 0;
}
.event.fresh {
  animation: fresh 1.8s ease-out;
}
@keyframes fresh {
  from {
    background: color-mix(in srgb, var(--accent) 12%, transparent);
  }
  to {
    background: transparent;
  }
}
.event .dot {
  width: 10px;
  height: 10px;
  border-radius: 50%;
  margin-top: 4px;
  background: var(--faint);
}
.event[data-tone="join"] .dot {
  background: var(--ok);
}
.event[data-tone="leave"] .dot {
  background: var(--bad);
}
.event[data-tone="rebalance"] .dot {
  background: var(--accent);
}
.event[data-tone="warn"] .dot {
  background: var(--warn);
}
.event[data-tone="data"] .dot {
  background: var(--line);
}
.event .title {
  font-size: 13px;
}
.event .meta {
  color: var(--faint);
  font-size: 11.5px;
  margin-top: 1px;
  font-variant-numeric: tabular-nums;
}
.event details {
  margin-top: 4px;
  font-size: 12px;
  color: var(--muted);
}
.event summary {
  cursor: pointer;
  color: var(--accent);
}
.event details ul {
  margin: 4px 0 0;
  padding-left: 16px;
  max-height: 160px;
  overflow: auto;
}
.empty {
  color: var(--faint);
  font-size: 13px;
  padding: 10px 0;
}
`;
