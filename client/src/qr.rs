//! A QR code of the npub, drawn as SVG so the page needs no image library or canvas.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border on each side, as the QR specification asks.
const QUIET_ZONE: usize = 4;

/// An SVG image of `text` as a QR code (error correction M), or `None` if it does not fit.
/// Every dark module is one unit square of a single path; the image scales with its container.
pub fn svg(text: &str, title: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text, EcLevel::M).ok()?;
    let width = code.width();
    let size = width + 2 * QUIET_ZONE;
    let colors = code.to_colors();
    let mut path = String::new();
    // One rectangle per horizontal run of dark modules.
    for (row, modules) in colors.chunks(width).enumerate() {
        let mut column = 0;
        while column < width {
            let run = modules[column..]
                .iter()
                .take_while(|c| **c == Color::Dark)
                .count();
            if run > 0 {
                let (x, y) = (column + QUIET_ZONE, row + QUIET_ZONE);
                path.push_str(&format!("M{x} {y}h{run}v1h-{run}z"));
            }
            column += run.max(1);
        }
    }
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" shape-rendering="crispEdges"><title>{}</title><rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##,
        escape(title)
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_npub_becomes_a_square_svg_with_a_quiet_zone() {
        let npub = "npub1sg6plzptd64u62a878hep2kev88swjh3tw00gjsfl8f237lmu63q0uf63m";
        let svg = svg(npub, "QR code of <npub>").expect("fits");
        // 63 bytes at level M need version 5: 37 modules, plus the border.
        assert!(svg.contains(r#"viewBox="0 0 45 45""#));
        // The top-left finder pattern starts inside the border with a run of seven.
        assert!(svg.contains("M4 4h7v1h-7z"));
        assert!(svg.contains("<title>QR code of &lt;npub&gt;</title>"));
        assert!(!svg.contains("M0 0"), "nothing is drawn in the quiet zone");
    }

    #[test]
    fn text_too_long_for_any_version_is_refused() {
        assert!(svg(&"x".repeat(5000), "too long").is_none());
    }
}
