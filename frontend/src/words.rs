//! The manager's words for what the sync screens show: records, kinds of change, statuses and
//! strategies in Spanish, never the wire names (`ventas.Venta`, `applied`, `Manual`).

use pronto_shared::sync::{config::Strategy, conflict::Outcome};

/// A synced model.
pub fn model(model: &str) -> &'static str {
    match model {
        "ventas.Venta" => "Venta",
        "clientes.Cliente" => "Cliente",
        "productos.Producto" => "Producto",
        "inventario.Existencia" => "Existencia",
        "configuracion" | "config" => "Configuración",
        _ => "Otro registro",
    }
}

/// What an op did (`OpKind` as stored).
pub fn op_kind(kind: &str) -> &'static str {
    match kind {
        "create" => "Alta",
        "update" => "Cambio",
        "delete" => "Baja",
        "sale" => "Venta",
        "stock_delta" => "Movimiento de inventario",
        "return" => "Devolución o cancelación",
        _ => "Otro",
    }
}

/// An op's status in the queue, or an audit entry's result.
pub fn status(status: &str) -> &'static str {
    match status {
        "applied" => "Aplicada",
        "conflict" => "Con conflicto",
        "pending" | "held" => "En espera del gerente",
        "rejected" => "Rechazada",
        "discarded" => "Descartada",
        "resolved" => "Resuelta",
        "duplicate" => "Duplicada",
        "config" => "Configuración cambiada",
        "pendiente" => "Por resolver",
        "resuelto" => "Resuelto",
        _ => "Otro",
    }
}

/// How a model's conflicts are settled.
pub fn strategy(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::UltimaModificacion => "Gana el cambio más reciente",
        Strategy::PrioridadCentral => "Gana el servidor",
        Strategy::PrioridadTienda => "Gana la tienda",
        Strategy::Manual => "Decide el gerente",
    }
}

/// What the rule did with a conflict.
pub fn outcome(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::LocalWins => "se quedó el valor de la tienda",
        Outcome::ServerWins => "se quedó el valor del servidor",
        Outcome::Merged => "se combinaron campo por campo",
        Outcome::Pending => "lo resolvió el gerente",
    }
}

/// A record's field, as the forms label it.
pub fn field(field: &str) -> String {
    match field {
        "nombre" => "Nombre".into(),
        "telefono" => "Teléfono".into(),
        "email" => "Correo".into(),
        "rfc" => "RFC".into(),
        "puntos" => "Puntos".into(),
        "notas" => "Notas".into(),
        "precio" => "Precio".into(),
        "marca" => "Marca".into(),
        "modelo" => "Modelo".into(),
        "color" => "Color".into(),
        "talla" => "Talla".into(),
        "sku" => "SKU".into(),
        "codigo_barras" => "Código de barras".into(),
        "activo" => "Activo".into(),
        "imagen" => "Imagen".into(),
        "cantidad" => "Cantidad".into(),
        other => {
            let mut chars = other.replace('_', " ").chars().collect::<Vec<_>>();
            if let Some(first) = chars.first_mut() {
                *first = first.to_ascii_uppercase();
            }
            chars.into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_word_the_screens_show_has_a_spanish_one() {
        for s in [
            "applied",
            "conflict",
            "pending",
            "rejected",
            "discarded",
            "resolved",
            "held",
        ] {
            assert_ne!(status(s), "Otro", "{s}");
        }
        for k in [
            "create",
            "update",
            "delete",
            "sale",
            "stock_delta",
            "return",
        ] {
            assert_ne!(op_kind(k), "Otro", "{k}");
        }
        assert_eq!(model("ventas.Venta"), "Venta");
        assert_eq!(strategy(Strategy::Manual), "Decide el gerente");
        assert_eq!(field("codigo_barras"), "Código de barras");
    }
}
