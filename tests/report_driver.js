// Walks a Snakemake 9 report page the way a reader does, in a headless browser.
//
// tests/test_report.py injects this script at the end of a copy of report.html and loads
// the page with `chromium --headless --dump-dom --virtual-time-budget=...`. The script
// waits for the React app, then clicks through the navbar by the links' text: each
// category of the embedded `categories` (the "Results" entry where there is only one),
// each subcategory where a category has several, and in each results table every row's
// info button (which shows the result's caption) and the eye button next to its path
// (which shows an image result in the content pane). For each image shown it awaits the
// load and records its natural and on-page size and how many distinct colours a grid of
// its pixels has. Progress and the outcome go, as JSON, into a hidden `pre` element with
// the id "render-check", appended to the body, which the test reads from the dumped DOM.
// No page state is set directly: `app`, `results` and `categories`, the report's own
// globals, are only read.
(function () {
    "use strict";
    const STEP_MS = 25;        // polling interval (virtual time: cheap)
    const WAIT_MS = 15000;     // longest wait for one step before giving up
    const summary = { done: false, error: null, errors: [], start: null, categories: {}, results: {} };
    const out = document.createElement("pre");
    out.id = "render-check";
    out.style.display = "none";
    const publish = () => { out.textContent = JSON.stringify(summary); };

    window.addEventListener("error", (event) => summary.errors.push(String(event.message)));
    window.addEventListener("unhandledrejection", (event) => summary.errors.push(String(event.reason)));

    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const text = (el) => (el ? el.textContent : "").replace(/\s+/g, " ").trim();

    async function waitFor(what, find) {
        for (let waited = 0; waited <= WAIT_MS; waited += STEP_MS) {
            const found = find();
            if (found) {
                return found;
            }
            await sleep(STEP_MS);
        }
        throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
    }

    // The navbar (left) and its breadcrumbs; the content pane is everything outside it.
    const navbar = () => document.querySelector("#app nav");
    const breadcrumbLinks = () => {
        const bar = navbar();
        const crumbs = bar ? bar.querySelector("nav") : null;
        return crumbs ? Array.from(crumbs.querySelectorAll("a")) : [];
    };
    // Links of the navbar's body: not in the breadcrumbs, not the hide button in its title.
    const navbarLinks = () => {
        const bar = navbar();
        if (!bar) {
            return [];
        }
        return Array.from(bar.querySelectorAll("a")).filter((a) => a.closest("nav") === bar && !a.closest("h1"));
    };
    const linkByText = (links, label) => links.find((a) => text(a) === label);

    async function click(what, find) {
        const link = await waitFor(what, find);
        link.click();
        await sleep(STEP_MS);
    }

    const clickMenu = (label) => click(`navbar link "${label}"`, () => linkByText(navbarLinks(), label));
    const clickCrumb = (label) => click(`breadcrumb "${label}"`, () => linkByText(breadcrumbLinks(), label));

    // Back to the menu: the breadcrumb "Results" where there is one, else the home icon.
    async function toMenu() {
        if (!linkByText(navbarLinks(), "About")) {
            const crumbs = breadcrumbLinks();
            (linkByText(crumbs, "Results") || crumbs[0]).click();
        }
        await waitFor("the menu", () => linkByText(navbarLinks(), "About"));
    }

    const tableRows = () => {
        const bar = navbar();
        const table = bar ? bar.querySelector("table") : null;
        return table ? Array.from(table.querySelectorAll("tbody tr")) : [];
    };

    function headings() {
        const bar = navbar();
        return bar ? Array.from(bar.querySelectorAll("li.uppercase")).map(text) : [];
    }

    function pixelColours(img) {
        // Distinct colours on a grid of up to 64 x 64 pixels of the decoded image.
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const context = canvas.getContext("2d");
        context.drawImage(img, 0, 0);
        const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
        const colours = new Set();
        const dx = Math.max(1, Math.floor(canvas.width / 64));
        const dy = Math.max(1, Math.floor(canvas.height / 64));
        for (let y = 0; y < canvas.height; y += dy) {
            for (let x = 0; x < canvas.width; x += dx) {
                const i = 4 * (y * canvas.width + x);
                colours.add(`${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`);
            }
        }
        return colours.size;
    }

    async function checkImage(path) {
        const src = results[path].data_uri;
        const img = await waitFor(`the image of ${path} in the content pane`, () =>
            Array.from(document.images).find((i) => i.getAttribute("src") === src && !i.closest("nav")));
        // Loaded: its header read, or its failure to load known (naturalWidth 0). Not
        // img.decode(): awaiting it leaves no timer pending, and the browser's virtual time
        // then leaps ahead by tens of seconds per image. Drawing it on a canvas decodes it.
        await waitFor(`the loading of ${path}`, () => img.complete);
        const box = img.getBoundingClientRect();
        return {
            complete: img.complete,
            natural_width: img.naturalWidth,
            natural_height: img.naturalHeight,
            shown_width: box.width,
            shown_height: box.height,
            colours: img.naturalWidth > 0 ? pixelColours(img) : 0,
            png_images_shown: Array.from(document.images).filter(
                (i) => !i.closest("nav") && (i.getAttribute("src") || "").startsWith("data:image/png")).length,
        };
    }

    // One row of a results table: its info (caption), then the eye button there (image).
    async function visitRow(category, subcategory, index, backCrumb) {
        const rows = await waitFor("the results table", () => tableRows().length > index && tableRows());
        const row = rows[index];
        const buttons = Array.from(row.querySelectorAll("td:last-child a"));
        const label = text(row.querySelector("td"));
        buttons[buttons.length - 1].click();  // the information-circle button
        await waitFor(`the result info of row "${label}"`, () => headings().includes("Snakemake rule"));
        const path = app.state.resultPath;
        const entry = { category, subcategory, row: label, shown_path: text(breadcrumbLinks().pop() || null), caption: null, image: null };
        summary.results[path] = entry;
        const caption = navbar().querySelector(".prose");
        entry.caption = caption ? text(caption) : null;
        publish();
        const mime = results[path].mime_type;
        if (mime === "image/png" || mime === "image/jpeg" || mime === "image/svg+xml") {
            navbarLinks()[0].click();  // the eye button next to the path
            entry.image = await checkImage(path);
            publish();
        }
        await clickCrumb(backCrumb);
    }

    async function visitTable(category, subcategory, backCrumb) {
        const count = (await waitFor(`the results of ${category} / ${subcategory}`, () => tableRows().length && tableRows())).length;
        summary.categories[category].subcategories[subcategory] = count;
        for (let index = 0; index < count; index++) {
            await visitRow(category, subcategory, index, backCrumb);
        }
    }

    async function run() {
        await waitFor("the report's menu", () => linkByText(navbarLinks(), "About"));
        const description = Array.from(document.querySelectorAll("#app .prose")).find((el) => !el.closest("nav"));
        summary.start = { title: document.title, menu: navbarLinks().map(text), description: text(description || null) };
        publish();
        const names = Object.keys(categories).sort((a, b) => a.localeCompare(b));
        const single = names.length === 1;
        for (const category of names) {
            summary.categories[category] = { subcategories: {} };
            await toMenu();
            const menuLabel = single ? "Results" : category;
            await clickMenu(menuLabel);
            const subcategories = Object.keys(categories[category]).sort((a, b) => a.localeCompare(b));
            // The breadcrumb back to the results table: the category, or "Results" for
            // the report's one default category.
            const categoryCrumb = single && category === "Other" ? "Results" : category;
            if (subcategories.length === 1) {
                await visitTable(category, subcategories[0], categoryCrumb);
            } else {
                for (const subcategory of subcategories) {
                    await clickMenu(subcategory);
                    await visitTable(category, subcategory, subcategory);
                    await clickCrumb(categoryCrumb);
                }
            }
            publish();
        }
    }

    document.body.appendChild(out);
    publish();
    run().then(
        () => { summary.done = true; },
        (error) => { summary.error = String(error && error.stack || error); },
    ).finally(publish);
})();
