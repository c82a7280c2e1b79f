import { createEffect, on, onCleanup, onMount } from "solid-js";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** A uPlot time-series chart that follows its container's width (and the theme's colours). */
export function TimeChart(props: {
  label: string;
  /** The time range shown (epoch seconds), whatever points there are. */
  range: [number, number];
  x: number[];
  series: { label: string; values: (number | null)[]; color: string; unit?: string }[];
}) {
  let host: HTMLDivElement | undefined;
  let plot: uPlot | undefined;

  const build = () => {
    if (!host) return;
    plot?.destroy();
    const style = getComputedStyle(document.documentElement);
    const css = (name: string) => style.getPropertyValue(name).trim();
    const axis = { stroke: css("--muted"), grid: { stroke: css("--border"), width: 1 } };
    plot = new uPlot(
      {
        width: Math.max(host.clientWidth, 200),
        height: 200,
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: css(s.color) || s.color,
            width: 2,
            value: (_: uPlot, v: number | null) => (v === null ? "—" : `${v}${s.unit ?? ""}`),
          })),
        ],
        axes: [axis, axis],
        scales: {
          x: { time: true, range: () => props.range },
          y: { range: (_u, _min, max) => [0, Math.max(max, 1)] },
        },
        legend: { live: false },
      },
      [props.x, ...props.series.map((s) => s.values)],
      host,
    );
  };

  onMount(() => {
    // In a task of its own, after the page's first paint: keeps each main-thread task short.
    const timer = setTimeout(build, 0);
    onCleanup(() => clearTimeout(timer));
    const observer = new ResizeObserver(() => {
      const width = Math.max(host?.clientWidth ?? 0, 200);
      if (plot && plot.width !== width) plot.setSize({ width, height: 200 });
    });
    if (host) observer.observe(host);
    onCleanup(() => observer.disconnect());
  });
  // Rebuild when the data changes (not on the first run: onMount built it).
  createEffect(
    on(
      () => [props.x, ...props.series.map((s) => s.values)],
      () => build(),
      { defer: true },
    ),
  );
  onCleanup(() => plot?.destroy());

  return <div class="chart" role="img" aria-label={props.label} ref={host} />;
}
