/* roofline.c - a roofline chart as hand-written SVG, and bn-bench's chart
 * assembled from its measurements (bench.h).
 *
 * Log-log axes: x = operational intensity (operations per byte of weights
 * or KV cache streamed), y = operations per second.  Each bandwidth ceiling
 * is the line y = bw * x, each compute ceiling a horizontal line; the roof
 * drawn is the lowest compute ceiling joined to the highest bandwidth.
 * Points are labelled; decades are gridded. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define W 900
#define H 600
#define ML 90
#define MR 30
#define MT 50
#define MB 70

static const char *const colors[] = {
	"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
	"#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#843c39", "#7b4173",
};

struct axes { double x0, x1, y0, y1; };	/* log10 ranges */

static double px(const struct axes *a, double x)
{
	return ML + (log10(x) - a->x0) / (a->x1 - a->x0) * (W - ML - MR);
}

static double py(const struct axes *a, double y)
{
	return H - MB - (log10(y) - a->y0) / (a->y1 - a->y0) * (H - MT - MB);
}

static void text(FILE *fp, double x, double y, const char *anchor, int size, const char *s)
{
	fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\">", x, y,
		anchor, size);
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", fp); break;
		case '>': fputs("&gt;", fp); break;
		case '&': fputs("&amp;", fp); break;
		case '"': fputs("&quot;", fp); break;
		default: putc(*s, fp);
		}
	}
	fputs("</text>\n", fp);
}

static const char *si(double v, char *buf, size_t n)
{
	static const char *const pre[] = { "", "k", "M", "G", "T", "P" };
	int i = 0;

	while (v >= 1000 && i < 5) {
		v /= 1000;
		i++;
	}
	snprintf(buf, n, "%.3g%s", v, pre[i]);
	return buf;
}

int bn_roofline_svg(FILE *fp, const char *title, const struct bn_roof_line *lines, int nl,
		    const struct bn_roof_point *pts, int np)
{
	struct axes a = { -1, 4, 0, 0 };
	double ymin = 1e300, ymax = 0, cmin = 1e300, bmax = 0, e;
	char b1[32], lab[160];
	int i, nbw = 0;

	for (i = 0; i < nl; i++) {
		if (!(lines[i].value > 0))
			continue;
		if (lines[i].is_bw)
			bmax = fmax(bmax, lines[i].value);
		else
			cmin = fmin(cmin, lines[i].value);
		ymax = fmax(ymax, lines[i].is_bw ? lines[i].value * 1e4 : lines[i].value);
		ymin = fmin(ymin, lines[i].is_bw ? lines[i].value * 0.1 : lines[i].value);
	}
	if (cmin < 1e300)	/* bandwidth lines end at the compute roof */
		ymax = fmin(ymax, cmin * 3);
	for (i = 0; i < np; i++)
		if (pts[i].ops_per_s > 0 && pts[i].intensity > 0) {
			ymax = fmax(ymax, pts[i].ops_per_s * 3);
			ymin = fmin(ymin, pts[i].ops_per_s);
			a.x0 = fmin(a.x0, floor(log10(pts[i].intensity)));
			a.x1 = fmax(a.x1, ceil(log10(pts[i].intensity) + 0.3));
		}
	if (!(ymax > 0))
		ymin = 1e9, ymax = 1e12;
	a.y0 = floor(log10(ymin));
	a.y1 = ceil(log10(ymax));
	if (a.y1 <= a.y0)
		a.y1 = a.y0 + 1;
	fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H, W, H, W, H);
	text(fp, W / 2.0, 28, "middle", 18, title);
	/* grid and tick labels, one per decade */
	for (e = a.x0; e <= a.x1 + 1e-9; e++) {
		double x = px(&a, pow(10, e));
		fprintf(fp, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n",
			x, MT, x, H - MB);
		text(fp, x, H - MB + 18, "middle", 12, si(pow(10, e), b1, sizeof(b1)));
	}
	for (e = a.y0; e <= a.y1 + 1e-9; e++) {
		double y = py(&a, pow(10, e));
		fprintf(fp, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
			ML, y, W - MR, y);
		text(fp, ML - 6, y + 4, "end", 12, si(pow(10, e), b1, sizeof(b1)));
	}
	fprintf(fp, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		"stroke=\"black\"/>\n", ML, MT, W - ML - MR, H - MT - MB);
	text(fp, (ML + W - MR) / 2.0, H - 25, "middle", 14,
	     "operational intensity (operations per byte streamed: weights or KV cache, log scale)");
	fprintf(fp, "<text x=\"20\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" "
		"transform=\"rotate(-90 20 %.1f)\">operations per second (log scale)</text>\n",
		(MT + H - MB) / 2.0, (MT + H - MB) / 2.0);
	fprintf(fp, "<clipPath id=\"plot\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>"
		"</clipPath>\n<g clip-path=\"url(#plot)\">\n", ML, MT, W - ML - MR, H - MT - MB);
	/* ceilings: bandwidth lines end where they meet the lowest compute roof */
	for (i = 0; i < nl; i++) {
		double v = lines[i].value, xa = pow(10, a.x0), xb = pow(10, a.x1), ya, yb;
		if (!(v > 0))
			continue;
		if (lines[i].is_bw) {
			if (cmin < 1e300)
				xb = fmin(xb, cmin / v);
			ya = v * xa;
			yb = v * xb;
		} else {
			if (bmax > 0)
				xa = fmax(xa, v / bmax);
			ya = yb = v;
		}
		fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\" "
			"stroke-width=\"2\"%s/>\n", px(&a, xa), py(&a, ya), px(&a, xb), py(&a, yb),
			i % 2 ? " stroke-dasharray=\"6 4\"" : "");
		snprintf(lab, sizeof(lab), "%s: %s%s", lines[i].label, si(v, b1, sizeof(b1)),
			 lines[i].is_bw ? "B/s" : "op/s");
		if (lines[i].is_bw) {	/* labels of several lines a decade apart */
			double f = 3 * pow(10, nbw++);
			text(fp, px(&a, xa * f) + 4, py(&a, ya * f) - 6, "start", 12, lab);
		}
		else
			text(fp, W - MR - 6, py(&a, v) - 6, "end", 12, lab);
	}
	fputs("</g>\n", fp);
	for (i = 0; i < np; i++) {
		const char *c = colors[i % BN_LEN(colors)];
		double x, y;
		if (!(pts[i].ops_per_s > 0 && pts[i].intensity > 0))
			continue;
		x = px(&a, pts[i].intensity);
		y = py(&a, pts[i].ops_per_s);
		fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n", x, y, c);
		/* legend entry, since points of equal intensity overlap */
		fprintf(fp, "<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"%s\"/>\n", ML + 16,
			MT + 18 + 16 * i, c);
		snprintf(lab, sizeof(lab), "%s (%s op/s)", pts[i].label,
			 si(pts[i].ops_per_s, b1, sizeof(b1)));
		text(fp, ML + 26, MT + 22 + 16 * i, "start", 12, lab);
	}
	fputs("</svg>\n", fp);
	return ferror(fp) ? BN_EIO : BN_OK;
}

int bn_bench_plot_svg(FILE *fp, const struct bn_bench_plot *p)
{
	struct bn_roof_line lines[3];
	struct bn_roof_point pts[64];
	char llab[3][64], plab[64][96], title[160];
	double peak = 0;
	int nl = 0, np = 0, maxth = 0, i;

	for (i = 0; i < p->nth; i++)
		maxth = p->threads[i] > maxth ? p->threads[i] : maxth;
	for (i = 0; i < p->nth && nl < 2; i++)
		if ((i == 0 && p->threads[i] != maxth) ||
		    (p->threads[i] == maxth && (!nl || p->threads[0] != maxth))) {
			snprintf(llab[nl], sizeof(llab[nl]), "read, %d thread%s", p->threads[i],
				 p->threads[i] > 1 ? "s" : "");
			lines[nl] = (struct bn_roof_line){ llab[nl], p->bw[i], 1 };
			nl++;
		}
	for (i = 0; i < p->nk && np < 48; i++) {
		const struct bn_kbench *k = &p->kb[i];
		double v = k->ops / k->seconds;
		if (k->n_threads != maxth || strcmp(k->kernels, p->kernels))
			continue;
		if (!strcmp(k->kernel, "gemm_t2"))
			peak = peak > v ? peak : v;
		snprintf(plab[np], sizeof(plab[np]), "%s %s", k->kernel, k->shape);
		pts[np] = (struct bn_roof_point){ plab[np], k->ops / k->bytes, v };
		np++;
	}
	if (peak > 0)
		lines[nl++] = (struct bn_roof_line){ "int8 compute (best gemm_t2)", peak, 0 };
	for (i = 0; i < p->nres && p->ops > 0 && np < 64; i++) {
		const struct bn_bench_result *r = &p->res[i];
		if (r->n_threads != maxth)
			continue;
		snprintf(plab[np], sizeof(plab[np]), "end to end %.31s", r->test);
		pts[np] = (struct bn_roof_point){ plab[np],
			p->ops / p->bytes * (r->n_prompt ? r->n_prompt : 1), p->ops * r->avg_ts };
		np++;
	}
	snprintf(title, sizeof(title), "bn roofline (%s kernels, %d thread%s)", p->kernels, maxth,
		 maxth > 1 ? "s" : "");
	return bn_roofline_svg(fp, title, lines, nl, pts, np);
}
