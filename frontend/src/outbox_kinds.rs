//! What the outbox holds, in the words a cashier uses: every op is filed under a kind of record
//! (a sale, a return, a customer …), indexed in IndexedDB by it, so the sync bar can say
//! "3 ventas y 1 cliente por enviar" and a list screen can read its own pending records without
//! reading every pending sale.

use pronto_shared::sync::{config, OpKind};

/// The kinds, in the order the sync bar names them.
pub const KINDS: [&str; 5] = ["venta", "devolucion", "cliente", "producto", "existencia"];

/// The kind an op is filed under (the outbox's `category` index).
pub fn category(model: &str, kind: OpKind) -> &'static str {
    match (model, kind) {
        (_, OpKind::Sale) => "venta",
        (_, OpKind::Return) => "devolucion",
        (config::CLIENTE, _) => "cliente",
        (config::PRODUCTO, _) => "producto",
        _ => "existencia",
    }
}

fn noun(kind: &str, n: usize) -> String {
    let (one, many) = match kind {
        "venta" => ("venta", "ventas"),
        "devolucion" => ("devolución", "devoluciones"),
        "cliente" => ("cliente", "clientes"),
        "producto" => ("cambio de producto", "cambios de producto"),
        _ => ("movimiento de inventario", "movimientos de inventario"),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "3 ventas y 1 cliente por enviar" from the counts per kind; `None` when nothing waits.
pub fn waiting_words(counts: &[(&str, usize)]) -> Option<String> {
    let parts: Vec<String> = counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(kind, n)| noun(kind, *n))
        .collect();
    let listed = match parts.as_slice() {
        [] => return None,
        [one] => one.clone(),
        [rest @ .., last] => format!("{} y {last}", rest.join(", ")),
    };
    Some(format!("{listed} por enviar"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_records_are_counted_in_words_by_kind() {
        assert_eq!(waiting_words(&[("venta", 0)]), None);
        assert_eq!(
            waiting_words(&[("venta", 1)]).as_deref(),
            Some("1 venta por enviar")
        );
        assert_eq!(
            waiting_words(&[("venta", 3), ("devolucion", 0), ("cliente", 1)]).as_deref(),
            Some("3 ventas y 1 cliente por enviar")
        );
        assert_eq!(
            waiting_words(&[("venta", 5), ("devolucion", 2), ("existencia", 1)]).as_deref(),
            Some("5 ventas, 2 devoluciones y 1 movimiento de inventario por enviar")
        );
    }

    #[test]
    fn a_sale_is_filed_as_a_sale_and_a_customer_create_as_a_customer() {
        assert_eq!(category(config::VENTA, OpKind::Sale), "venta");
        assert_eq!(category(config::VENTA, OpKind::Return), "devolucion");
        assert_eq!(category(config::CLIENTE, OpKind::Create), "cliente");
        assert_eq!(category(config::PRODUCTO, OpKind::Update), "producto");
        assert_eq!(
            category(config::EXISTENCIA, OpKind::StockDelta),
            "existencia"
        );
        assert!(KINDS.iter().all(|k| waiting_words(&[(k, 2)]).is_some()));
    }
}
