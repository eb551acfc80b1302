<?php
/**
 * Plugin Name:       Comeback — loyalty, referrals and retention
 * Plugin URI:        https://comeback.example.com/
 * Description:       Points, tiers, rewards, referrals and surveys for your WooCommerce shoppers, with the Comeback rewards widget on every page of your store.
 * Version:           1.0.0
 * Requires at least: 6.1
 * Requires PHP:      7.4
 * Requires Plugins:  woocommerce
 * WC requires at least: 8.0
 * Author:            Comeback
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       comeback
 * Domain Path:       /languages
 *
 * @package Comeback
 */

defined( 'ABSPATH' ) || exit;

define( 'COMEBACK_VERSION', '1.0.0' );
define( 'COMEBACK_FILE', __FILE__ );
define( 'COMEBACK_DIR', plugin_dir_path( __FILE__ ) );
/** Where a new install connects unless the merchant changes it (staging, a self-hosted app). */
define( 'COMEBACK_DEFAULT_APP_URL', 'https://comeback.example.com' );

require_once COMEBACK_DIR . 'includes/class-comeback-signer.php';
require_once COMEBACK_DIR . 'includes/class-comeback-connection.php';
require_once COMEBACK_DIR . 'includes/class-comeback-proxy.php';
require_once COMEBACK_DIR . 'includes/class-comeback-storefront.php';
require_once COMEBACK_DIR . 'includes/class-comeback-admin.php';
require_once COMEBACK_DIR . 'includes/class-comeback-privacy.php';

add_action(
	'init',
	static function () {
		load_plugin_textdomain( 'comeback', false, dirname( plugin_basename( COMEBACK_FILE ) ) . '/languages' );
	}
);

Comeback_Proxy::register();
Comeback_Storefront::register();
Comeback_Admin::register();
Comeback_Privacy::register();

// WooCommerce's order tables (HPOS): the plugin never touches orders, so it is compatible.
add_action(
	'before_woocommerce_init',
	static function () {
		if ( class_exists( '\Automattic\WooCommerce\Utilities\FeaturesUtil' ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', COMEBACK_FILE, true );
		}
	}
);
